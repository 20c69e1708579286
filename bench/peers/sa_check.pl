#!/usr/bin/perl
# SpamAssassin over message files in one process, as bench/peers/run measures it:
# local tests only (score set 0: no network tests, no Bayes, no auto-welcomelist).
#   sa_check.pl RULES_DIR ZERO_FILE MESSAGE...
# ZERO_FILE lists rule names whose score is set to 0 (empty for the full set), which
# restricts SpamAssassin to the rules the importer translated. Prints one JSON line per
# message ({"file","score","spam","hits"}), then one {"messages","cpu_seconds"} line:
# the CPU time of parsing and checking only, not of loading and compiling the rules.
use strict;
use warnings;
use Mail::SpamAssassin;
use JSON::PP;
use File::Temp qw(tempdir);

my ($rules_dir, $zero_file, @files) = @ARGV;
die "usage: sa_check.pl RULES_DIR ZERO_FILE MESSAGE...\n" unless $rules_dir && defined $zero_file;
my $zeroes = '';
if ($zero_file ne '') {
    open(my $z, '<', $zero_file) or die "$zero_file: $!\n";
    $zeroes .= "score $_ 0\n" for grep { /\S/ } map { chomp; $_ } <$z>;
}
# The site directory holds only the plugin loaders (*.pre) of the installed SpamAssassin,
# so that no local.cf of this machine changes what is measured.
my $state = tempdir(CLEANUP => 1);
system('sh', '-c', "cp /etc/spamassassin/*.pre '$state'/") == 0 or die "no /etc/spamassassin/*.pre\n";
my $sa = Mail::SpamAssassin->new({
    rules_filename => $rules_dir,
    site_rules_filename => $state,
    userprefs_filename => "$state/user_prefs",
    userstate_dir => $state,
    home_dir_for_helpers => $state,
    local_tests_only => 1,
    dont_copy_prefs => 1,
    post_config_text => "use_bayes 0\nbayes_auto_learn 0\nuse_auto_whitelist 0\n$zeroes",
});
$sa->compile_now(0, 1);
my $json = JSON::PP->new->canonical;
my @t0 = times;
for my $file (@files) {
    open(my $fh, '<:raw', $file) or die "$file: $!\n";
    my $text = do { local $/; <$fh> };
    my $mail = $sa->parse($text, 1);
    my $status = $sa->check($mail);
    print $json->encode({file => $file, score => $status->get_score() + 0,
                         spam => $status->is_spam() ? JSON::PP::true : JSON::PP::false,
                         hits => [sort split /,/, $status->get_names_of_tests_hit()]}), "\n";
    $status->finish();
    $mail->finish();
}
my @t1 = times;
print $json->encode({messages => scalar(@files),
                     cpu_seconds => ($t1[0] - $t0[0]) + ($t1[1] - $t0[1])}), "\n";
