//! Trusted hosts: addresses whose credential-less requests are trusted (design §2).

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::permissions;
use super::{Core, CoreError, CoreResult, Done};
use crate::db;

pub use db::trusted_hosts::TrustedHostRow as TrustedHost;

/// Parses a single address or a CIDR range (IPv4 or IPv6) into its normal form, host bits
/// cleared: `10.1.2.3/8` becomes `10.0.0.0/8`, `::1` becomes `::1/128`.
pub fn parse_network(text: &str) -> CoreResult<IpNet> {
    let text = text.trim();
    let net = if text.contains('/') {
        text.parse::<IpNet>().map_err(|_| {
            CoreError::invalid(
                "network",
                format!("'{text}' is not an IP address or CIDR range"),
            )
        })?
    } else {
        let ip = text.parse::<IpAddr>().map_err(|_| {
            CoreError::invalid(
                "network",
                format!("'{text}' is not an IP address or CIDR range"),
            )
        })?;
        IpNet::from(ip)
    };
    Ok(net.trunc())
}

/// IPv4 peers can arrive as IPv4-mapped IPv6 addresses on a dual-stack socket.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

impl Core {
    /// Whether `ip` is inside a trusted network. Read from the database on every call, so a
    /// change made by another process (the CLI) holds for the very next request.
    pub async fn is_trusted(&self, ip: IpAddr) -> CoreResult<bool> {
        let ip = canonical(ip);
        let hosts = self
            .db
            .read(|conn| Ok::<_, CoreError>(db::trusted_hosts::list(conn)?))
            .await?;
        Ok(hosts
            .iter()
            .any(|h| h.network.parse::<IpNet>().is_ok_and(|n| n.contains(&ip))))
    }

    pub async fn list_trusted_hosts(&self, actor: &Actor) -> CoreResult<Vec<TrustedHost>> {
        permissions::may_manage_trusted_hosts(&actor.principal)?;
        self.db
            .read(|conn| Ok(db::trusted_hosts::list(conn)?))
            .await
    }

    /// Adds a trusted network; returns its normal form.
    pub async fn add_trusted_host(
        &self,
        actor: &Actor,
        network: &str,
        description: &str,
    ) -> CoreResult<String> {
        let checked = permissions::may_manage_trusted_hosts(&actor.principal)
            .and_then(|()| parse_network(network))
            .and_then(|net| {
                if description.len() > 256 || description.chars().any(char::is_control) {
                    return Err(CoreError::invalid(
                        "description",
                        "at most 256 printable bytes",
                    ));
                }
                Ok(net)
            });
        let net = match checked {
            Ok(net) => net.to_string(),
            Err(e) => return self.refuse(actor, Event::TrustedHostAdded, e).await,
        };
        let description = description.to_string();
        self.mutate(actor, Event::TrustedHostAdded, move |tx, _, now| {
            if db::trusted_hosts::list(tx)?
                .iter()
                .any(|h| h.network == net)
            {
                return Err(CoreError::Duplicate(format!(
                    "{net} is already a trusted host"
                )));
            }
            db::trusted_hosts::insert(tx, &net, &description, now)?;
            Ok(Done {
                value: net.clone(),
                target: format!("trusted_host:{net}"),
                detail: json!({ "network": net, "description": description }).to_string(),
            })
        })
        .await
    }

    /// Removes a trusted network, given in any form that normalises to it.
    pub async fn remove_trusted_host(&self, actor: &Actor, network: &str) -> CoreResult<String> {
        let checked = permissions::may_manage_trusted_hosts(&actor.principal)
            .and_then(|()| parse_network(network));
        let net = match checked {
            Ok(net) => net.to_string(),
            Err(e) => return self.refuse(actor, Event::TrustedHostRemoved, e).await,
        };
        self.mutate(actor, Event::TrustedHostRemoved, move |tx, _, _| {
            if !db::trusted_hosts::remove(tx, &net)? {
                return Err(CoreError::NotFound(format!("trusted host {net}")));
            }
            Ok(Done {
                value: net.clone(),
                target: format!("trusted_host:{net}"),
                detail: json!({ "network": net }).to_string(),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_normalised() {
        assert_eq!(
            parse_network("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_network("127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(parse_network("::1").unwrap().to_string(), "::1/128");
        assert_eq!(
            parse_network(" 2001:db8::5/32 ").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("example.com").is_err());
        assert!(parse_network("").is_err());
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(canonical(mapped), "127.0.0.1".parse::<IpAddr>().unwrap());
    }
}
