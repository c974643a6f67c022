#!/usr/bin/perl
# mq_msg_peer.pl: the Perl side of the System V message queue interop tests
# (tests/lua/msg_spec.lua), with Perl's core IPC::Msg, as a Perl program
# sharing a queue with a libipc one would:
#   mq_msg_peer.pl create KEY            creates the queue (0600), prints its id
#   mq_msg_peer.pl send KEY TYPE TEXT    sends TEXT with TYPE
#   mq_msg_peer.pl recv KEY SELECT       takes a message (never waits), prints
#                                        "TYPE TEXT"
#   mq_msg_peer.pl stat KEY              prints "qnum lspid lrpid"
# It never removes a queue: the test that made the key does.
use strict;
use warnings;
use IPC::SysV qw(IPC_CREAT IPC_EXCL IPC_NOWAIT S_IRUSR S_IWUSR);
use IPC::Msg;

my ($cmd, $key, @args) = @ARGV;
die "usage: $0 create|send|recv|stat KEY ...\n" unless defined $key;

if ($cmd eq 'create') {
    my $q = IPC::Msg->new($key, IPC_CREAT | IPC_EXCL | S_IRUSR | S_IWUSR)
        or die "msgget $key: $!\n";
    print $q->id;
    exit 0;
}

my $q = IPC::Msg->new($key, 0) or die "msgget $key: $!\n";
if ($cmd eq 'send') {
    $q->snd($args[0], $args[1], IPC_NOWAIT) or die "msgsnd: $!\n";
} elsif ($cmd eq 'recv') {
    my $buf;
    my $type = $q->rcv($buf, 8192, $args[0], IPC_NOWAIT);
    defined $type or die "msgrcv: $!\n";
    print "$type $buf";
} elsif ($cmd eq 'stat') {
    my $s = $q->stat or die "msgctl: $!\n";
    print join(' ', $s->qnum, $s->lspid, $s->lrpid);
} else {
    die "unknown command $cmd\n";
}
