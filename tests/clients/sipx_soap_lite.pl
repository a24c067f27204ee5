#!/usr/bin/perl
# Drives switchyard's sipXconfig-style SOAP API with SOAP::Lite, the way sipXconfig's own Perl
# samples do: document/literal bodies built with SOAP::Data in the service namespace, Basic
# credentials as the superadmin, answers read with valueof().
#
# Usage: perl tests/clients/sipx_soap_lite.pl SCENARIO
# Environment: SY_API_URL (https://127.0.0.1:PORT), SY_CAFILE (the server's certificate),
# SY_ROOT_PASSWORD (password of the admin login `root`).
# Prints `ok SCENARIO` and exits 0, or dies saying what went wrong.
use strict;
use warnings;
use MIME::Base64 qw(encode_base64);
use Digest::MD5 qw(md5_hex);
use LWP::UserAgent;
use SOAP::Lite;

my $api = $ENV{SY_API_URL} or die "SY_API_URL is not set\n";
my $ns = 'http://www.sipfoundry.org/2007/08/21/ConfigService';

# The endpoint and namespace come from the served WSDL.
my $ua = LWP::UserAgent->new(ssl_opts => { SSL_ca_file => $ENV{SY_CAFILE} });
my $wsdl = $ua->get("$api/sipxconfig/services/UserService?wsdl");
die 'WSDL: ' . $wsdl->status_line . "\n" unless $wsdl->is_success;
my ($ns_in_wsdl) = $wsdl->decoded_content =~ /targetNamespace="([^"]+)"/;
die "WSDL namespace $ns_in_wsdl\n" unless $ns_in_wsdl eq $ns;
my %location = $wsdl->decoded_content =~ /<wsdl:port name="(\w+)"[^>]*>\s*<soap:address location="([^"]+)"/g;

sub service {
    my ($port) = @_;
    my $soap = SOAP::Lite->proxy($location{$port}, ssl_opts => { SSL_ca_file => $ENV{SY_CAFILE} })
        ->ns($ns, 'cfg')->autotype(0)->on_action(sub { '""' });
    $soap->transport->http_request->header(
        Authorization => 'Basic ' . encode_base64("root:$ENV{SY_ROOT_PASSWORD}", ''));
    $soap->on_fault(sub { my ($s, $r) = @_; return $r });
    return $soap;
}

sub el { SOAP::Data->name("cfg:$_[0]" => $_[1]) }
sub nest { my $name = shift; SOAP::Data->name("cfg:$name" => \SOAP::Data->value(@_)) }

sub call_ok {
    my ($soap, $method, @args) = @_;
    my $som = $soap->call("cfg:$method" => @args);
    die "$method: no answer\n" unless ref $som;
    die "$method: fault " . $som->faultstring . "\n" if $som->fault;
    return $som;
}

sub users {
    my $users = service('UserService');
    my $system = service('SystemService');
    my $realm = call_ok($system, 'SystemInfo')->valueof('//SystemInfoResponse/domain/realm');
    die "no realm\n" unless $realm;
    my $name = 'perl' . int(rand(1_000_000));
    call_ok($users, 'AddUser',
        nest('user', el(userName => $name), el(lastName => 'Lite'), el(firstName => 'Soap'),
            el(aliases => "88$$"), el(groups => 'perlers')),
        el(pin => '2468'));
    my $som = call_ok($users, 'FindUser', nest('search', el(byUserName => $name)));
    my @found = $som->valueof('//FindUserResponse/users/user');
    die 'findUser found ' . scalar(@found) . "\n" unless @found == 1;
    my $u = $found[0];
    die "firstName $u->{firstName}\n" unless $u->{firstName} eq 'Soap';
    die "pintoken\n" unless $u->{pintoken} eq md5_hex("$name:$realm:2468");

    call_ok($users, 'ManageUser', nest('search', el(byGroup => 'perlers')),
        nest('edit', el(property => 'lastName'), el(value => 'Heavy')), el(addGroup => 'camels'));
    $u = (call_ok($users, 'FindUser', nest('search', el(byUserName => $name)))
        ->valueof('//FindUserResponse/users/user'))[0];
    die "lastName $u->{lastName}\n" unless $u->{lastName} eq 'Heavy';
    my @groups = call_ok($users, 'FindUser', nest('search', el(byUserName => $name)))
        ->valueof('//FindUserResponse/users/user/groups');
    die "groups @groups\n" unless join(',', sort @groups) eq 'camels,perlers';

    my $fault = $users->call('cfg:ManageUser' => nest('search', el(byUserName => "no$name")),
        el(deleteUser => 'true'));
    die "unknown user: no fault\n" unless $fault->fault;
    die 'faultcode ' . $fault->faultcode . "\n" unless $fault->faultcode =~ /Client$/;
    die 'faultstring ' . $fault->faultstring . "\n" unless $fault->faultstring =~ /not found/;

    call_ok($users, 'ManageUser', nest('search', el(byUserName => $name)), el(deleteUser => 'true'));
    my @left = call_ok($users, 'FindUser', nest('search', el(byUserName => $name)))
        ->valueof('//FindUserResponse/users/user');
    die "still there after deleteUser\n" if @left;
    print "ok users\n";
}

my %scenarios = (users => \&users);
my $scenario = $scenarios{ $ARGV[0] // '' } or die "usage: $0 users\n";
$scenario->();
