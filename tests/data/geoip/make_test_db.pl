#!/usr/bin/perl
# Writes the small GeoIP2-Country database tests/runtime/geoip_test.cpp looks up:
#   perl make_test_db.pl OUTPUT.mmdb
# Built at test time (Debian: libmaxmind-db-writer-perl) so no binary is committed.
# The tree is IPv6 with IPv4 in ::/96, as MaxMind's own databases are. libmaxminddb
# starts IPv4 lookups at ::/96, so they work without more; alias_ipv6_to_ipv4 makes
# ::ffff:a.b.c.d (and 6to4/Teredo addresses) find the IPv4 data as well.
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

my $output = shift @ARGV or die "usage: $0 OUTPUT.mmdb\n";

my %types = (
    country            => 'map',
    registered_country => 'map',
    iso_code           => 'utf8_string',
    names              => 'map',
    en                 => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version         => 6,
    record_size        => 24,
    database_type      => 'GeoIP2-Country',
    languages          => ['en'],
    description        => { en => 'mailpolicy test database' },
    alias_ipv6_to_ipv4 => 1,
    # The test networks are documentation ranges, which the writer drops by default.
    remove_reserved_networks => 0,
    map_key_type_callback    => sub { $types{ $_[0] } },
);

sub located_in {
    my ($code) = @_;
    return { country => { iso_code => $code }, registered_country => { iso_code => $code } };
}

$tree->insert_network('192.0.2.0/24',    located_in('US'));
$tree->insert_network('198.51.100.0/24', located_in('DE'));
$tree->insert_network('2001:db8::/32',   located_in('NL'));
# Only the registration is known (e.g. a satellite or anycast range).
$tree->insert_network('203.0.113.0/25', { registered_country => { iso_code => 'JP' } });
# Known network, no country at all (e.g. an anonymous proxy entry).
$tree->insert_network('203.0.113.128/25', { names => { en => 'no country' } });

open my $fh, '>:raw', $output or die "cannot write $output: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $output: $!\n";
