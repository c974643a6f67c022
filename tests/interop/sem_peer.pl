#!/usr/bin/perl
# sem_peer.pl: the Perl side of the System V semaphore interop tests
# (tests/lua/sem_spec.lua), with Perl's core IPC::Semaphore, as a Perl
# program sharing a set with a libipc one would:
#   sem_peer.pl get KEY             prints the values, space-separated
#   sem_peer.pl stat KEY            prints nsems and the octal mode
#   sem_peer.pl op KEY NUM DELTA [undo]
#                                   one operation, IPC_NOWAIT; prints "ok"
#                                   or "busy" (it would have had to wait)
#   sem_peer.pl create KEY V1 V2 .. makes the set the way libipc does (the
#                                   values, then a first semop that marks it
#                                   ready for openers); prints its id
#   sem_peer.pl bare KEY N          makes a set of N and stops there, as a
#                                   creator that died before initialising it
# It never removes a set it did not create: the test that made it does.
use strict;
use warnings;
use IPC::SysV qw(IPC_CREAT IPC_EXCL IPC_NOWAIT SEM_UNDO S_IRUSR S_IWUSR);
use IPC::Semaphore;

my ($cmd, $key, @rest) = @ARGV;
die "usage: sem_peer.pl get|stat|op|create|bare KEY ...\n" unless defined $key;
$key = oct($key) if $key =~ /^0/;

if ($cmd eq 'create') {
    my $sem = IPC::Semaphore->new($key, scalar(@rest),
                                  S_IRUSR | S_IWUSR | IPC_CREAT | IPC_EXCL)
        or die "create: $!\n";
    # Every value but the first with SETALL, then the first with a semop:
    # sem_otime becomes non-zero only once everything is in place.
    $sem->setall(0, @rest[1 .. $#rest]) or die "setall: $!\n";
    $sem->op(0, $rest[0], 0) or die "op: $!\n";
    print $sem->id, "\n";
    exit 0;
}

if ($cmd eq 'bare') {
    my $sem = IPC::Semaphore->new($key, $rest[0],
                                  S_IRUSR | S_IWUSR | IPC_CREAT | IPC_EXCL)
        or die "create: $!\n";
    print $sem->id, "\n";
    exit 0;
}

my $sem = IPC::Semaphore->new($key, 0, 0) or die "open: $!\n";
if ($cmd eq 'get') {
    print join(' ', $sem->getall), "\n";
} elsif ($cmd eq 'stat') {
    my $st = $sem->stat or die "stat: $!\n";
    printf "%d %o\n", $st->nsems, $st->mode & 0777;
} elsif ($cmd eq 'op') {
    my ($num, $delta, $undo) = @rest;
    my $flags = IPC_NOWAIT | (defined $undo && $undo eq 'undo' ? SEM_UNDO : 0);
    if ($sem->op($num, $delta, $flags)) {
        print "ok\n";
    } elsif ($!{EAGAIN}) {
        print "busy\n";
    } else {
        die "op: $!\n";
    }
} else {
    die "unknown command $cmd\n";
}
