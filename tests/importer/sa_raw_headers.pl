#!/usr/bin/perl
# SpamAssassin's `NAME:raw` of a few headers of each message named on the command
# line, as "FILE-INDEX<TAB>NAME<TAB>HEX" lines (hex: the value's bytes), for
# sa_raw_header_test.cpp. Run with Debian's /usr/bin/perl (Mail::SpamAssassin).
use strict;
use warnings;
use Mail::SpamAssassin;
my $sa = Mail::SpamAssassin->new({local_tests_only => 1, dont_copy_prefs => 1,
                                  userprefs_filename => '/dev/null', debug => 0});
my $index = 0;
for my $file (@ARGV) {
  open my $fh, '<', $file or die "$file: $!";
  my @lines = <$fh>;
  close $fh;
  my $msg = $sa->parse(\@lines);
  my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $msg);
  for my $name ('Subject', 'From', 'Date', 'To', 'Message-Id', 'Received') {
    my $value = $pms->get("$name:raw");
    print join("\t", $index, $name, unpack('H*', defined $value ? $value : '')), "\n";
  }
  $pms->finish();
  $msg->finish();
  ++$index;
}
