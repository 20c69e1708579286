#!/usr/bin/perl
# How SpamAssassin reads a few headers of each message named after the mode, for
# sa_header_views_test.cpp (run with Debian's /usr/bin/perl, Mail::SpamAssassin):
#   raw FILE...   its `NAME:raw`: "FILE-INDEX<TAB>NAME<TAB>HEX" (hex: the value's bytes)
#   mime FILE...  what the MIMEHeader plugin tests, per MIME entity (find_parts) in
#                 order: "FILE-INDEX<TAB>ENTITY-INDEX<TAB>NAME<TAB>HEX", "-" for none
use strict;
use warnings;
use Mail::SpamAssassin;
my $mode = shift @ARGV;
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
