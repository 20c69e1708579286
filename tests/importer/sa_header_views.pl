#!/usr/bin/perl
# How SpamAssassin reads a few headers of each message named after the mode, for
# sa_header_views_test.cpp (run with Debian's /usr/bin/perl, Mail::SpamAssassin):
#   raw FILE...   its `NAME:raw`: "FILE-INDEX<TAB>NAME<TAB>HEX" (hex: the value's bytes)
#   mime FILE...  what the MIMEHeader plugin tests, per MIME entity (find_parts) in
#                 order: "FILE-INDEX<TAB>ENTITY-INDEX<TAB>NAME<TAB>HEX", "-" for none
#   relays FILE... its Received-derived relays, with no trusted_networks configured:
#                 "FILE-INDEX<TAB>KIND<TAB>HEX" for X-Spam-Relays-KIND, KIND one of
#                 Trusted, Untrusted, Internal, External; and for KIND Unparseable the
#                 number of Received fields it could not read
#   addr FILE...  its `NAME:addr` (every address, in list context) for a few headers:
#                 "FILE-INDEX<TAB>NAME<TAB>HEX" (hex: the addresses joined by "\n")
use strict;
use warnings;
use Mail::SpamAssassin;
my $mode = shift @ARGV;
# "@LIST": the file names, one a line, in the file LIST (a whole corpus is too long
# for a command line).
if (@ARGV == 1 && $ARGV[0] =~ /^@(.*)/) {
  open my $list, '<', $1 or die "$1: $!";
  chomp(@ARGV = <$list>);
}
my $sa = Mail::SpamAssassin->new({local_tests_only => 1, dont_copy_prefs => 1,
                                  userprefs_filename => '/dev/null', debug => 0});
my $index = 0;
for my $file (@ARGV) {
  open my $fh, '<', $file or die "$file: $!";
  my @lines = <$fh>;
  close $fh;
  my $msg = $sa->parse(\@lines);
  if ($mode eq 'raw') {
    my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $msg);
    for my $name ('Subject', 'From', 'Date', 'To', 'Message-Id', 'Received') {
      my $value = $pms->get("$name:raw");
      print join("\t", $index, $name, unpack('H*', defined $value ? $value : '')), "\n";
    }
    $pms->finish();
  } elsif ($mode eq 'addr') {
    my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $msg);
    for my $name ('Return-Path', 'To', 'Cc', 'Sender', 'X-Envelope-From', 'Errors-To') {
      my @addresses = $pms->get("$name:addr");
      print join("\t", $index, $name, unpack('H*', join("\n", grep { defined && $_ ne '' } @addresses))), "\n";
    }
    $pms->finish();
  } elsif ($mode eq 'relays') {
    my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $msg);
    $pms->extract_message_metadata();
    for my $kind ('Trusted', 'Untrusted', 'Internal', 'External') {
      my $value = $msg->get_metadata("X-Spam-Relays-$kind");
      print join("\t", $index, $kind, unpack('H*', defined $value ? $value : '')), "\n";
    }
    print join("\t", $index, 'Unparseable', unpack('H*', $pms->{num_relays_unparseable} || 0)), "\n";
    $pms->finish();
  } else {
    my $entity = 0;
    for my $part ($msg->find_parts(qr/./)) {
      for my $name ('Content-Type', 'Content-Transfer-Encoding', 'Content-Disposition') {
        my $value = $part->get_header($name);
        print join("\t", $index, $entity, $name, defined $value ? unpack('H*', $value) : '-'), "\n";
      }
      ++$entity;
    }
  }
  $msg->finish();
  ++$index;
}
