#!/usr/bin/perl
# Drives switchyard's Sippy-style XML-RPC API with Perl LWP (HTTP Digest) and
# RPC::XML (encoding and decoding), as older Perl integrations do.
#
# Usage: perl tests/clients/lwp_xmlrpc.pl
# Environment: SY_HTTPS_URL, SY_CAFILE (TLS is verified against it), SY_ROOT_PASSWORD.
# Prints "ok lwp" and exits 0, or dies saying what was expected and what came back.
#
# LWP answers the Digest challenge once, then reuses the nonce with nc
# 00000001, 00000002, ... in upper-case hex (so the 10th call sends 0000000A)
# and a constant cnonce.
use strict;
use warnings;

use LWP::UserAgent;
use RPC::XML;
use RPC::XML::ParserFactory;
use URI;

$RPC::XML::ALLOW_NIL = 1;
# RPC::XML declares encoding="us-ascii" by default yet writes non-ASCII characters
# raw (switchyard then answers fault -32702); declare UTF-8 and send UTF-8 bytes.
$RPC::XML::ENCODING = 'UTF-8';

my $url     = $ENV{SY_HTTPS_URL}     or die "SY_HTTPS_URL is not set\n";
my $cafile  = $ENV{SY_CAFILE}        or die "SY_CAFILE is not set\n";
my $root_pw = $ENV{SY_ROOT_PASSWORD} or die "SY_ROOT_PASSWORD is not set\n";
my $host_port = URI->new($url)->host_port;
my $parser    = RPC::XML::ParserFactory->new;
my $sfx       = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 8;

# A user agent logged in as `user`, recording what it sends and receives.
sub agent {
    my ($user, $password) = @_;
    my $ua = LWP::UserAgent->new(
        keep_alive => 1,
        timeout    => 60,
        ssl_opts   => { SSL_ca_file => $cafile, verify_hostname => 1 },
    );
    $ua->credentials($host_port, 'switchyard', $user, $password);
    my $log = { sent => [], statuses => [] };
    $ua->add_handler(request_send => sub {
        push @{ $log->{sent} }, $_[0]->header('Authorization') // '';
        return;
    });
    $ua->add_handler(response_done => sub {
        push @{ $log->{statuses} }, $_[0]->code;
        return;
    });
    return { ua => $ua, log => $log };
}

# Calls `method` with RPC::XML values; returns the decoded Perl value, or dies
# on a fault (unless `want_fault`, then returns [code, string]).
sub call {
    my ($agent, $method, $struct, $want_fault) = @_;
    my $body = RPC::XML::request->new($method, defined $struct ? ($struct) : ())->as_string;
    utf8::encode($body);    # HTTP::Message wants bytes
    my $res = $agent->{ua}->post($url, 'Content-Type' => 'text/xml', Content => $body);
    die "$method: expected HTTP 200, got " . $res->status_line . "\n" . $res->content . "\n"
        unless $res->code == 200;
    my $reply = $parser->parse($res->decoded_content);
    die "$method: unparsable reply: $reply\n" . $res->content . "\n" unless ref $reply;
    if ($reply->is_fault) {
        my ($code, $string) = ($reply->value->code, $reply->value->string);
        return [$code, $string] if $want_fault;
        die "$method: expected success, got fault $code: $string\n";
    }
    die "$method: expected a fault, got success\n" if $want_fault;
    return $reply->value->value;
}

sub check {
    my ($cond, $what, $got) = @_;
    return if $cond;
    $got = defined $got ? $got : 'undef';
    die "expected $what; got $got\n";
}

sub is_ok {
    my ($reply, $what) = @_;
    return $reply if ref $reply eq 'HASH' && ($reply->{result} // '') eq 'OK';
    die "expected $what to answer result OK; got "
        . (ref $reply eq 'HASH' ? join(',', map { $_ // 'nil' } %$reply) : $reply // 'nil') . "\n";
}

# Explicit types: RPC::XML would send "1234" as an <int>, but vm_password is a string.
sub str { RPC::XML::string->new($_[0]) }
sub int32 { RPC::XML::int->new($_[0]) }
sub dbl { RPC::XML::double->new($_[0]) }

my $root = agent('root', $root_pw);

# A customer with API access, created by root; it logs in with its name.
my ($cname, $cpw) = ("LwpCustomer_$sfx", "lwp-pw-$sfx");
my $created = is_ok(call($root, 'createCustomer', {
    name => str($cname), web_password => str("web-$sfx"), i_tariff => RPC::XML::nil->new,
    api_password => str($cpw), api_access => int32(1), api_permission => RPC::XML::boolean->new(1),
    description => str("Perl & <LWP> caf\x{e9} \x{260e}"),
}), 'createCustomer');
my $cid = $created->{i_customer};
check(defined $cid && $cid =~ /^\d+$/, 'an integer i_customer', $cid);
my $customer = agent($cname, $cpw);
my $self_info = is_ok(call($customer, 'getCustomerInfo', { i_customer => int32($cid) }),
                      'getCustomerInfo by the customer')->{customer};
check($self_info->{name} eq $cname, "customer name $cname", $self_info->{name});
check($self_info->{description} eq "Perl & <LWP> caf\x{e9} \x{260e}", 'the description round trip',
      $self_info->{description});

# An account as root (root's accounts need a routing group), every required field.
my $user = "lwp_$sfx";
my %account = (
    username => str($user), web_password => str('web-pw'), authname => str($user),
    voip_password => str('voip-pw'), translation_rule => str(''), cli_translation_rule => str(''),
    cpe_number => str(''), vm_password => str('1234'), i_lang => str('en'),
    payment_currency => str('USD'), max_sessions => int32(-1), max_credit_time => int32(-1),
    i_billing_plan => int32(1), i_time_zone => int32(1), vm_enabled => int32(0), blocked => int32(0),
    payment_method => int32(1), i_export_type => int32(1), credit_limit => dbl(20),
    balance => dbl(2.5), i_routing_group => int32(1), preferred_codec => RPC::XML::nil->new,
    description => str('made by LWP'),
);
my $acct = is_ok(call($root, 'createAccount', \%account), 'createAccount')->{i_account};
check(defined $acct && $acct =~ /^\d+$/, 'an integer i_account', $acct);

# Read it back: flat struct, balance negated, no secrets.
my $info = is_ok(call($root, 'getAccountInfo', { i_account => int32($acct) }), 'getAccountInfo');
check($info->{username} eq $user, "username $user", $info->{username});
check($info->{balance} == -2.5, 'balance -2.5 (negated)', $info->{balance});
check($info->{credit_limit} == 20, 'credit_limit 20', $info->{credit_limit});
check(!exists $info->{vm_password} && !exists $info->{voip_password}
      && !exists $info->{web_password},
      'no password members', join(',', sort keys %$info));
check(!defined $info->{preferred_codec}, 'preferred_codec nil', $info->{preferred_codec});
my $by_name = is_ok(call($root, 'getAccountInfo', { username => str($user) }), 'by username');
check($by_name->{i_account} == $acct, "i_account $acct by username", $by_name->{i_account});

# listAccounts: balance as stored, blocked as a boolean.
my $list = is_ok(call($root, 'listAccounts', {}), 'listAccounts')->{accounts};
my ($row) = grep { $_->{i_account} == $acct } @$list;
check($row, "account $acct in listAccounts", scalar @$list);
check($row->{balance} == 2.5, 'listAccounts balance 2.5 (not negated)', $row->{balance});
check(!$row->{blocked}, 'blocked false', $row->{blocked});

# The customer does not see root's account.
my $fault = call($customer, 'getAccountInfo', { i_account => int32($acct) }, 1);
check($fault->[0] == 404, 'fault 404 for an account outside the scope', "@$fault");

# 30 more calls on root's agent: one challenge in all, nonce reused, nc past 9.
call($root, 'listAccounts', { limit => int32(1) }) for 1 .. 30;
my @statuses = @{ $root->{log}{statuses} };
my $challenges = grep { $_ == 401 } @statuses;
check($challenges == 1, 'exactly one 401 for root\'s agent', "$challenges (@statuses)");
my @auth = grep { /^Digest / } @{ $root->{log}{sent} };
my %nonces = map { /nonce="([^"]+)"/ ? ($1 => 1) : () } @auth;
check(keys %nonces == 1, 'one nonce reused for every call', join(' ', keys %nonces));
my @nc = map { /nc=([0-9A-Fa-f]{8})/ ? $1 : '?' } @auth;
my @want = map { sprintf '%08X', $_ } 1 .. scalar @auth;
check("@nc" eq "@want", "nc @want", "@nc");
check(grep({ $_ eq '0000000A' } @nc) && @nc >= 30, 'nc to pass 0000000A', "@nc");

print "ok lwp\n";
