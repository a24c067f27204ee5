#!/usr/bin/perl
# Drives switchyard's Sipwise-C5-style REST API (/api/, HAL+JSON) with Perl LWP,
# HTTP::Request and JSON, written the way the Sipwise C5 handbook's example
# client is (seeds/004): $ua->credentials(host:port, 'api_admin_http', ...),
# so LWP sends Basic credentials only after the server's 401 challenge, and
# new ids are read from the Location header of each 201.
#
# Usage: perl tests/clients/c5_lwp.pl SCENARIO      (seed004 | errors | forwarding)
# Environment:
#   SY_API_URL        https://127.0.0.1:PORT (no trailing slash)
#   SY_CAFILE         the server's certificate; TLS is verified against it
#   SY_ROOT_PASSWORD  password of the admin login `root`
# Prints "ok SCENARIO" and exits 0, or exits 1 saying what was expected and
# what came back. Scenarios may share a server, so every name, domain and
# number they create carries a random suffix.
use strict;
use warnings;
use v5.10;

use HTTP::Request;
use JSON qw();
use LWP::UserAgent;
use URI;

my $uri     = $ENV{SY_API_URL}       or bail('SY_API_URL is not set');
my $cafile  = $ENV{SY_CAFILE}        or bail('SY_CAFILE is not set');
my $root_pw = $ENV{SY_ROOT_PASSWORD} or bail('SY_ROOT_PASSWORD is not set');
$uri =~ s{/+$}{};
my $host_port = URI->new($uri)->host_port;
my $sfx       = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 8;

# ---------------------------------------------------------------- helpers

# Prints the message and exits 1 (die would exit 255).
sub bail {
    my ($msg) = @_;
    chomp $msg;
    print STDERR "$msg\n";
    exit 1;
}

# A failed check: caught by the scenario runner below.
sub fail {
    my ($msg) = @_;
    chomp $msg;
    die "$msg\n";
}

# A user agent set up like the handbook's, plus a log of every response
# (status and the Authorization header its request carried).
sub agent {
    my ($user, $pass) = @_;
    my $ua = LWP::UserAgent->new(
        keep_alive => 1,
        timeout    => 60,
        ssl_opts   => { SSL_ca_file => $cafile, verify_hostname => 1 },
    );
    $ua->credentials($host_port, 'api_admin_http', $user, $pass);
    my @log;
    $ua->add_handler(response_done => sub {
        my ($res) = @_;
        push @log, [$res->code, $res->request->header('Authorization') // ''];
        return;
    });
    return ($ua, \@log);
}

sub describe {
    my ($res) = @_;
    my $body = $res->decoded_content // '';
    return $res->request->method . ' ' . $res->request->uri . ' -> ' . $res->status_line
        . ($body eq '' ? '' : "\n$body");
}

sub expect_code {
    my ($res, $code, $what) = @_;
    return $res if $res->code == $code;
    fail("$what: expected HTTP $code, got " . describe($res));
}

sub check {
    my ($cond, $what, $got) = @_;
    return if $cond;
    $got = 'undef' unless defined $got;
    fail("expected $what; got $got");
}

# The error body every failure carries: {"code":N,"message":"..."}; checks the
# code and that the message starts with `prefix`.
sub expect_error {
    my ($res, $code, $prefix, $what) = @_;
    expect_code($res, $code, $what);
    my $ct = $res->header('Content-Type') // '';
    check($ct =~ m{^application/json}, "$what: Content-Type application/json", $ct);
    my $err = eval { JSON::from_json($res->decoded_content) };
    check(ref $err eq 'HASH', "$what: a JSON error object", $res->decoded_content);
    check(defined $err->{code} && $err->{code} == $code, "$what: \"code\":$code",
          $res->decoded_content);
    check(defined $err->{message} && index($err->{message}, $prefix) == 0,
          "$what: a message starting with \"$prefix\"", $err->{message});
    return $err;
}

# The seed's idiom: the id is the last path segment of the Location header.
sub created_id {
    my ($res, $collection, $what) = @_;
    expect_code($res, 201, $what);
    my $location = $res->header('Location') // '';
    check($location =~ m{^/api/$collection/\d+$}, "$what: Location /api/$collection/<id>",
          $location);
    check($res->content eq '', "$what: an empty 201 body", $res->content);
    my $id = $location;
    $id =~ s/^.+\/(\d+)$/$1/;    # extract the ID from the Location header
    return $id;
}

# ---------------------------------------------------------------- scenarios

# The handbook's whole flow (seeds/004), in its own style, as the admin `root`.
sub seed004 {
    my ($ua, $log) = agent('root', $root_pw);
    my ($req, $res);

    # Billing profile by handle; one match, so _embedded holds a bare object.
    my $billing_profile_handle = 'default';
    $req = HTTP::Request->new('GET', "$uri/api/billingprofiles/?handle=$billing_profile_handle");
    $res = $ua->request($req);
    expect_code($res, 200, 'fetch billing profile');
    # LWP sent nothing at first, got the challenge, then answered it with Basic.
    check(@$log == 2 && $log->[0][0] == 401 && $log->[0][1] eq ''
          && $log->[1][0] == 200 && $log->[1][1] =~ /^Basic /,
          'a 401 challenge answered with Basic credentials, then 200',
          join(', ', map { "$_->[0] [$_->[1]]" } @$log));
    my $challenge = $res->previous;    # the 401 LWP answered
    my @offered = $challenge ? $challenge->header('WWW-Authenticate') : ();
    check((grep { $_ eq 'Basic realm="api_admin_http"' } @offered),
          'the 401 to offer WWW-Authenticate: Basic realm="api_admin_http"',
          join(' | ', @offered));
    my $billing_profile = JSON::from_json($res->decoded_content);
    my $billing_profile_id = $billing_profile->{_embedded}->{'ngcp:billingprofiles'}->{id};
    check(defined $billing_profile_id && $billing_profile_id == 1,
          "_embedded.'ngcp:billingprofiles'.id 1 (the default profile)", $billing_profile_id);

    # Customer contact; as an admin we name the reseller.
    my $email = "john.doe.$sfx\@example.com";
    $req = HTTP::Request->new('POST', "$uri/api/customercontacts/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({
        firstname => 'John', lastname => 'Doe', email => $email, reseller_id => 1,
    }));
    $res = $ua->request($req);
    my $contact_id = created_id($res, 'customercontacts', 'create customer contact');

    # Customer.
    $req = HTTP::Request->new('POST', "$uri/api/customers/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({
        status => 'active', contact_id => $contact_id, billing_profile_id => $billing_profile_id,
        type => 'sipaccount', external_id => undef,
    }));
    $res = $ua->request($req);
    my $customer_id = created_id($res, 'customers', 'create customer');

    # "A domain must exist before creating a subscriber."
    my $domain = "seed004-$sfx.example.com";
    $req = HTTP::Request->new('POST', "$uri/api/domains/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({ domain => $domain, reseller_id => 1 }));
    $res = $ua->request($req);
    my $domain_id = created_id($res, 'domains', 'create domain');

    # Subscriber with a primary number and two aliases.
    my $sn = 10000 + int rand 89999;
    my $ac = 1000 + int rand 8999;
    my $t  = 100000 + int rand 899999;
    $req = HTTP::Request->new('POST', "$uri/api/subscribers/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({
        status         => 'active',
        customer_id    => $customer_id,
        primary_number => { cc => 43, ac => $ac, sn => $sn },
        alias_numbers  => [
            { cc => 43, ac => $ac + 1, sn => $sn },
            { cc => 43, ac => $ac + 2, sn => $sn },
        ],
        username    => "test_$sfx",
        domain      => $domain,
        password    => 'secret subscriber pass',
        webusername => "test_$sfx",
        webpassword => undef,
        external_id => undef,
    }));
    $res = $ua->request($req);
    my $subscriber_id = created_id($res, 'subscribers', 'create subscriber');

    # Modify the numbers: GET, drop _links, push two aliases, PUT (return=minimal).
    $req = HTTP::Request->new('GET', "$uri/api/subscribers/$subscriber_id");
    $res = $ua->request($req);
    expect_code($res, 200, 'fetch subscriber');
    my $sub = JSON::from_json($res->decoded_content);
    check($sub->{domain} eq $domain, "subscriber domain $domain", $sub->{domain});
    check($sub->{customer_id} == $customer_id, "subscriber customer_id $customer_id",
          $sub->{customer_id});
    check(ref $sub->{alias_numbers} eq 'ARRAY' && @{ $sub->{alias_numbers} } == 2,
          'two alias numbers after create', JSON::to_json($sub->{alias_numbers}));
    check(!exists $sub->{password}, 'no password in the subscriber', join(',', sort keys %$sub));
    delete $sub->{_links};    # not needed in update
    push @{ $sub->{alias_numbers} }, { cc => 1, ac => 5432, sn => $t };    # add this number
    push @{ $sub->{alias_numbers} }, { cc => 1, ac => 5433, sn => $t };    # add another number
    $req = HTTP::Request->new('PUT', "$uri/api/subscribers/$subscriber_id");
    $req->header('Content-Type' => 'application/json');
    $req->header('Prefer' => 'return=minimal');
    $req->content(JSON::to_json($sub));
    $res = $ua->request($req);
    expect_code($res, 204, 'update subscriber');
    check(($res->header('Preference-Applied') // '') eq 'return=minimal',
          'Preference-Applied: return=minimal', $res->header('Preference-Applied'));

    # The four aliases are there, in the order given.
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/subscribers/$subscriber_id"));
    expect_code($res, 200, 'fetch subscriber after update');
    my $after = JSON::from_json($res->decoded_content);
    my @got  = map { join '-', @$_{qw(cc ac sn)} } @{ $after->{alias_numbers} || [] };
    my @want = ("43-" . ($ac + 1) . "-$sn", "43-" . ($ac + 2) . "-$sn", "1-5432-$t", "1-5433-$t");
    check("@got" eq "@want", "alias numbers @want", "@got");
    my $p = $after->{primary_number} || {};
    check(join('-', map { $_ // '' } @$p{qw(cc ac sn)}) eq "43-$ac-$sn",
          "primary number 43-$ac-$sn", JSON::to_json($p));

    # A second subscriber, terminated on its own as in the handbook: DELETE -> 204.
    $req = HTTP::Request->new('POST', "$uri/api/subscribers/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({
        customer_id => $customer_id, primary_number => { cc => 43, ac => $ac + 3, sn => $sn },
        username => "test2_$sfx", domain => $domain, password => 'another pass',
    }));
    $res = $ua->request($req);
    my $second_id = created_id($res, 'subscribers', 'create second subscriber');
    $res = $ua->request(HTTP::Request->new('DELETE', "$uri/api/subscribers/$second_id"));
    expect_code($res, 204, 'terminate subscriber');
    check($res->content eq '', 'an empty 204 body', $res->content);
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/subscribers/$second_id"));
    expect_error($res, 404, 'Entity ', 'terminated subscriber');

    # Terminate the customer with PATCH; it terminates its subscribers too.
    $req = HTTP::Request->new('PATCH', "$uri/api/customers/$customer_id");
    $req->header('Content-Type' => 'application/json-patch+json');
    $req->header('Prefer' => 'return=minimal');
    $req->content(JSON::to_json([ { op => 'replace', path => '/status', value => 'terminated' } ]));
    $res = $ua->request($req);    # this will also terminate all still active subscribers
    expect_code($res, 204, 'terminate customer');

    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/customers/$customer_id"));
    expect_code($res, 200, 'fetch terminated customer');
    my $customer = JSON::from_json($res->decoded_content);
    check($customer->{status} eq 'terminated', 'customer status terminated', $customer->{status});
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/subscribers/$subscriber_id"));
    expect_error($res, 404, 'Entity ', "subscriber $subscriber_id after its customer's termination");
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/subscribers/?customer_id=$customer_id"));
    expect_code($res, 200, 'list subscribers of the terminated customer');
    my $list = JSON::from_json($res->decoded_content);
    check($list->{total_count} == 0 && !exists $list->{_embedded},
          'no subscribers left (total_count 0, no _embedded)', $res->decoded_content);

    # No request ended in a 401. (LWP pre-sends Basic only below the path it was
    # first challenged on, so each new collection costs one 401 round trip.)
    my @refused = grep { $_->[0] == 401 && $_->[1] ne '' } @$log;
    check(!@refused, 'no 401 for a request carrying credentials',
          join(', ', map { "$_->[0] [$_->[1]]" } @refused));
    return;
}

# The error statuses and bodies clients rely on.
sub errors {
    my ($ua) = agent('root', $root_pw);
    my ($req, $res);

    # 415: not JSON.
    $req = HTTP::Request->new('POST', "$uri/api/customercontacts/");
    $req->header('Content-Type' => 'text/plain');
    $req->content(JSON::to_json({ email => "x.$sfx\@example.com", reseller_id => 1 }));
    $res = $ua->request($req);
    expect_error($res, 415, "Unsupported media type 'text/plain', accepting application/json only.",
                 'POST with Content-Type text/plain');

    # 400: malformed JSON.
    $req = HTTP::Request->new('POST', "$uri/api/customercontacts/");
    $req->header('Content-Type' => 'application/json');
    $req->content('{"email": "broken@example.com", ');
    $res = $ua->request($req);
    expect_error($res, 400, "The entity is not a well-formed 'application/json' document.",
                 'POST with malformed JSON');

    # 422: a required field missing.
    $req = HTTP::Request->new('POST', "$uri/api/customercontacts/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({ firstname => "NoMail$sfx", reseller_id => 1 }));
    $res = $ua->request($req);
    my $err = expect_error($res, 422, 'Validation failed. field=', 'POST without email');
    check($err->{message} =~ /field='email'/, "the message to name field='email'", $err->{message});

    # 404: an entity that does not exist.
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/customercontacts/987654321"));
    expect_error($res, 404, "Entity '", 'GET of an unknown contact');
    check(JSON::from_json($res->decoded_content)->{message} =~ /^Entity '\w+' not found\.$/,
          "Entity '<name>' not found.", $res->decoded_content);

    # 404 "Path not found" for a verb the resource lacks: customers have no DELETE.
    $req = HTTP::Request->new('POST', "$uri/api/customercontacts/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({ email => "err.$sfx\@example.com", reseller_id => 1 }));
    # 0 + : send the id as a JSON number (seed004 sends the string, as the handbook does).
    my $contact_id = 0 + created_id($ua->request($req), 'customercontacts', 'create contact');
    $req = HTTP::Request->new('POST', "$uri/api/customers/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({ status => 'active', contact_id => $contact_id,
                                  billing_profile_id => 1, type => 'sipaccount' }));
    my $customer_id = created_id($ua->request($req), 'customers', 'create customer');
    $res = $ua->request(HTTP::Request->new('DELETE', "$uri/api/customers/$customer_id"));
    $err = expect_error($res, 404, 'Path not found', 'DELETE of a customer');
    check($err->{message} eq 'Path not found', 'exactly "Path not found"', $err->{message});
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/customers/$customer_id"));
    expect_code($res, 200, 'the customer still there after the refused DELETE');

    # 401 with a wrong password: LWP tries once after the challenge, then gives up.
    my ($bad, $log) = agent('root', "wrong-$sfx");
    $res = $bad->request(HTTP::Request->new('GET', "$uri/api/customers/"));
    expect_error($res, 401, '', 'GET with a wrong password');
    my @challenge = $res->header('WWW-Authenticate');
    check((grep { $_ eq 'Basic realm="api_admin_http"' } @challenge),
          'WWW-Authenticate: Basic realm="api_admin_http"', join(' | ', @challenge));
    check((grep { $_->[1] =~ /^Basic / } @$log), 'LWP to have tried Basic credentials',
          join(', ', map { "$_->[0] [$_->[1]]" } @$log));
    return;
}

# The handbook's call forward and preferences steps (seeds/004), in its own style, on a
# subscriber made as in seed004: PUT cfna (return=minimal), read it back, then the
# preferences GET-edit-PUT and a re-GET.
sub forwarding {
    my ($ua) = agent('root', $root_pw);
    my ($req, $res);

    # A contact, customer, domain and subscriber.
    $req = HTTP::Request->new('POST', "$uri/api/customercontacts/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({ email => "cf.$sfx\@example.com", reseller_id => 1 }));
    my $contact_id = created_id($ua->request($req), 'customercontacts', 'create customer contact');
    $req = HTTP::Request->new('POST', "$uri/api/customers/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({ status => 'active', contact_id => $contact_id,
                                  billing_profile_id => 1, type => 'sipaccount' }));
    my $customer_id = created_id($ua->request($req), 'customers', 'create customer');
    my $domain = "cf-$sfx.example.com";
    $req = HTTP::Request->new('POST', "$uri/api/domains/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({ domain => $domain, reseller_id => 1 }));
    created_id($ua->request($req), 'domains', 'create domain');
    $req = HTTP::Request->new('POST', "$uri/api/subscribers/");
    $req->header('Content-Type' => 'application/json');
    $req->content(JSON::to_json({
        customer_id    => $customer_id,
        primary_number => { cc => 43, ac => 1000 + int rand 8999, sn => 100000 + int rand 899999 },
        username       => "cf_$sfx",
        domain         => $domain,
        password       => 'secret subscriber pass',
    }));
    my $subscriber_id = created_id($ua->request($req), 'subscribers', 'create subscriber');

    # "If you want to set call forwards for the subscribers, then perform an API call as follows."
    $req = HTTP::Request->new('PUT', "$uri/api/callforwards/$subscriber_id");
    $req->header('Content-Type' => 'application/json');
    $req->header('Prefer' => "return=minimal"); # use return=representation to get full json response
    $req->content(JSON::to_json({
        cfna => { # set a call-forward if subscriber is not registered
            destinations => [
                { destination => "4366610001", timeout => 10 }, # ring this for 10s
                { destination => "4366710001", timeout => 300 }, # if no answer, ring that for 300s
            ],
            times => undef # no time-based call-forward, trigger cfna always
        }
    }));
    $res = $ua->request($req);
    if($res->code != 204) { # if return=representation, it's 200
        fail("Failed to set cfna for subscriber: " . describe($res));
    }
    check(($res->header('Preference-Applied') // '') eq 'return=minimal',
          'Preference-Applied: return=minimal', $res->header('Preference-Applied'));
    check($res->content eq '', 'an empty 204 body', $res->content);

    # Read it back: exactly the seven types, only cfna set, numbers completed with the domain.
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/callforwards/$subscriber_id"));
    expect_code($res, 200, 'fetch call forwards');
    my $cf = JSON::from_json($res->decoded_content);
    my @keys = sort keys %$cf;
    check("@keys" eq '_links cfb cfna cfo cfr cfs cft cfu',
          'the keys _links cfb cfna cfo cfr cfs cft cfu', "@keys");
    check($cf->{_links}{self}{href} eq "/api/callforwards/$subscriber_id",
          "self href /api/callforwards/$subscriber_id", $cf->{_links}{self}{href});
    for my $type (qw(cfu cfb cft cfs cfr cfo)) {
        check(ref $cf->{$type} eq 'HASH' && !%{ $cf->{$type} }, "$type to be {} (unset)",
              JSON::to_json($cf->{$type}, { allow_nonref => 1 }));
    }
    my $cfna = $cf->{cfna};
    my @dests = @{ $cfna->{destinations} || [] };
    my @got = map { join ' ', $_->{destination} // 'undef', $_->{simple_destination} // 'undef',
                    $_->{timeout} // 'undef' } @dests;
    my @want = ("sip:4366610001\@$domain 4366610001 10", "sip:4366710001\@$domain 4366710001 300");
    check("@got" eq "@want", 'cfna destinations (destination simple_destination timeout) '
          . join(', ', @want), join(', ', @got));
    check(ref $cfna->{times} eq 'ARRAY' && !@{ $cfna->{times} }, 'cfna times [] (always)',
          JSON::to_json($cfna, { canonical => 1 }));
    check(!grep({ !exists $_->{priority} || !exists $_->{announcement_id} } @dests),
          'priority and announcement_id in each destination', JSON::to_json(\@dests));

    # "To provision certain features of a subscriber, you can manipulate the subscriber
    # preferences": GET, edit, PUT.
    $req = HTTP::Request->new('GET', "$uri/api/subscriberpreferences/$subscriber_id");
    $res = $ua->request($req);
    if($res->code != 200) {
        fail("Failed to fetch subscriber preferences: " . describe($res));
    }
    my $prefs = JSON::from_json($res->decoded_content);
    check(($prefs->{id} // '') eq $subscriber_id
          && ($prefs->{subscriber_id} // '') eq $subscriber_id,
          "id and subscriber_id $subscriber_id", JSON::to_json($prefs));
    delete $prefs->{_links}; # not needed in update
    $prefs->{prepaid_library} = 'libinewrate'; # switch to inew billing
    $prefs->{block_in_clir} = JSON::true; # reject incoming anonymous calls
    $prefs->{block_in_list} = [ # reject calls from the following numbers:
        '4366412345', # this particular number
        '431*', # all vienna/austria numbers
    ];
    $req = HTTP::Request->new('PUT', "$uri/api/subscriberpreferences/$subscriber_id");
    $req->header('Content-Type' => 'application/json');
    $req->header('Prefer' => "return=minimal"); # use return=representation to get full json response
    $req->content(JSON::to_json($prefs));
    $res = $ua->request($req);
    if($res->code != 204) {
        fail("Failed to update subscriber preferences: " . describe($res));
    }
    # prepaid_library is no switchyard preference: ignored, as C5 does, but named.
    my @warnings = $res->header('Warning');
    check(@warnings == 1
          && $warnings[0] eq '299 switchyard "unknown preferences ignored: prepaid_library"',
          'one Warning: 299 switchyard "unknown preferences ignored: prepaid_library"',
          join(' | ', @warnings) || '(none)');

    # Re-GET: the two set, prepaid_library not stored.
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/subscriberpreferences/$subscriber_id"));
    expect_code($res, 200, 'fetch subscriber preferences after update');
    my $after = JSON::from_json($res->decoded_content);
    @keys = sort keys %$after;
    check("@keys" eq '_links block_in_clir block_in_list id subscriber_id',
          'the keys _links block_in_clir block_in_list id subscriber_id', "@keys");
    check(JSON::is_bool($after->{block_in_clir}) && $after->{block_in_clir},
          'block_in_clir a JSON true', JSON::to_json($after));
    check(ref $after->{block_in_list} eq 'ARRAY'
          && join(',', @{ $after->{block_in_list} }) eq '4366412345,431*',
          'block_in_list [4366412345, 431*]', JSON::to_json($after));

    # The same GET-edit-PUT again with nothing unknown: no Warning, nothing changed.
    delete $after->{_links};
    $req = HTTP::Request->new('PUT', "$uri/api/subscriberpreferences/$subscriber_id");
    $req->header('Content-Type' => 'application/json');
    $req->header('Prefer' => 'return=representation');
    $req->content(JSON::to_json($after));
    $res = $ua->request($req);
    expect_code($res, 200, 'PUT of the unchanged preferences');
    check(!defined $res->header('Warning'), 'no Warning header', $res->header('Warning'));
    my $again = JSON::from_json($res->decoded_content);
    delete $again->{_links};
    check(JSON::to_json($again, { canonical => 1 }) eq JSON::to_json($after, { canonical => 1 }),
          JSON::to_json($after, { canonical => 1 }), JSON::to_json($again, { canonical => 1 }));

    # The forwarding is untouched by the preference changes.
    $res = $ua->request(HTTP::Request->new('GET', "$uri/api/callforwards/$subscriber_id"));
    expect_code($res, 200, 'fetch call forwards again');
    my $cf2 = JSON::from_json($res->decoded_content);
    check(JSON::to_json($cf2, { canonical => 1 }) eq JSON::to_json($cf, { canonical => 1 }),
          'the call forwards unchanged', $res->decoded_content);
    return;
}

my %scenarios = (seed004 => \&seed004, errors => \&errors, forwarding => \&forwarding);
my $name = $ARGV[0] // '';
bail("usage: $0 {" . join('|', sort keys %scenarios) . '}') unless @ARGV == 1 && $scenarios{$name};
my $ok = eval { $scenarios{$name}->(); 1 };
bail("FAILED $name: $@") unless $ok;
print "ok $name\n";
exit 0;
