//! Sippy-style XML-RPC at `POST /xmlapi/xmlapi`.

pub mod codec;
