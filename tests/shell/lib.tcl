# lib.tcl: what the tests/shell/*.exp sessions share. Starts ipcsh on a
# pseudo-terminal with a private HOME and history file, types into it,
# prints TAP lines, and cleans up (every ipcsh killed and reaped, the
# temporary directory removed) however the session ends.
#
# Usage from a test: source this file, then one `session { ... }` of
# `check NAME { ... }` tests built from `start`, `type`, `await`, `finish`.
# IPCSH_TEST_VERBOSE=1 in the environment shows the terminal transcript.

set timeout 10
log_user [expr {[info exists env(IPCSH_TEST_VERBOSE)] ? 1 : 0}]

if {$argc != 1} {
    puts stderr "usage: expect -f [info script] path/to/ipcsh"
    exit 2
}
set ipcsh [file normalize [lindex $argv 0]]
if {![file executable $ipcsh]} {
    puts stderr "[info script]: $ipcsh is not an executable"
    exit 2
}

set tmpdir [exec mktemp -d /tmp/ipcsh-test.XXXXXX]
set histfile [file join $tmpdir history]
set env(HOME) $tmpdir
set env(IPCSH_HISTORY) $histfile
set env(TERM) xterm
# Plain results, so that patterns need no colour codes (color.exp sets it
# back per session).
set env(NO_COLOR) 1
foreach var {LUA_INIT LUA_INIT_5_1 LUA_INIT_5_2 LUA_INIT_5_3 LUA_INIT_5_4 _PROMPT IPCSHRC} {
    unset -nocomplain env($var)
}

set ntest 0
set nfailed 0
set live {}          ;# spawn ids of sessions not yet reaped
set prompt_re {\r\n> $}

proc tap {good name {diag ""}} {
    global ntest nfailed
    incr ntest
    if {$good} {
        puts "ok $ntest - $name"
    } else {
        incr nfailed
        puts "not ok $ntest - $name"
        foreach line [split $diag "\n"] { puts "#   [string map {"\r" ""} $line]" }
    }
    flush stdout
}

# The text the session printed that no pattern consumed yet, for diagnostics.
proc pending {} {
    global spawn_id
    expect -timeout 0 -re {.+} { return $expect_out(buffer) } default { return "" }
}

# Waits for a regexp; returns "" when it came, else why not.
proc await {re} {
    # expect_out is global, so that a test can read what a pattern caught.
    global spawn_id expect_out
    expect {
        -re $re { return "" }
        timeout { return "timed out waiting for /$re/; screen had: [pending]" }
        eof { return "ipcsh exited while waiting for /$re/" }
    }
}

# Starts ipcsh (with the arguments given) on a wide terminal (no line
# wrapping) and waits for the banner, the lines that may follow it (the
# LuaJIT note) and the first prompt.
proc start {args} {
    global ipcsh spawn_id spawn_out live expect_out luajit luaname
    spawn -noecho $ipcsh {*}$args
    lappend live $spawn_id
    catch {exec stty rows 50 columns 200 < $spawn_out(slave,name)}
    set why [await {ipcsh [0-9.]+ \(((Lua|LuaJIT) [^)]*)\)[^\r]*\r\n([^>\r][^\r]*\r\n)*> $}]
    if {$why eq ""} {
        set luaname $expect_out(1,string)
        set luajit [expr {$expect_out(2,string) eq "LuaJIT"}]
    }
    return $why
}

# The Lua the ipcsh under test runs ("Lua 5.4", "LuaJIT 2.1.0-beta3") and
# whether it is LuaJIT, known once a session started.
set luaname ""
set luajit 0

# Types `input` and Enter, then waits for `re` (which should end with the
# prompt it expects). Returns "" or the reason it failed.
proc type {input re} {
    global spawn_id
    send -- "$input\r"
    return [await $re]
}

# Runs one test: `script` returns "" for a pass or a reason for a failure;
# a Tcl error inside counts as a failure too.
proc check {name script} {
    if {[catch {uplevel 1 $script} why]} { set why "error: $why" }
    tap [expr {$why eq ""}] $name $why
    return [expr {$why eq ""}]
}

# Sends Ctrl-D and reaps ipcsh; returns its exit status, or a string
# starting with "failed" when it did not exit by itself.
proc finish {} {
    global spawn_id live
    send -- "\004"
    set how ""
    expect {
        eof {}
        timeout { set how "no exit after Ctrl-D; screen had: [pending]" }
    }
    if {$how ne ""} {
        reap $spawn_id
        return "failed: $how"
    }
    set st [wait -i $spawn_id]
    set live [lsearch -all -inline -not -exact $live $spawn_id]
    if {[lindex $st 2] != 0} { return "failed: wait error [lrange $st 3 end]" }
    if {[llength $st] > 4} { return "failed: killed by [lindex $st 5]" }
    return [lindex $st 3]
}

# Kills and reaps a session that is still there.
proc reap {id} {
    global live
    catch {exec kill -KILL [exp_pid -i $id]}
    catch {close -i $id}
    catch {wait -i $id}
    set live [lsearch -all -inline -not -exact $live $id]
}

# Cleanup, then the TAP plan and the exit status.
proc done {} {
    global live tmpdir ntest nfailed
    foreach id $live { reap $id }
    file delete -force $tmpdir
    puts "1..$ntest"
    exit [expr {$nfailed == 0 ? 0 : 1}]
}

# A test run that dies on a Tcl error still cleans up.
proc session {body} {
    if {[catch {uplevel 1 $body} err]} {
        tap 0 "the session script ran to its end" $err
    }
    done
}
