# qsnn-pynq test double of Vitis HLS and Vivado: runs a tool's tcl script under plain tclsh with
# recording stub commands, and fails where the real tool would stop on a broken script. TEST USE ONLY.
# Every call of a tool command is appended to $QSNN_DOUBLE_LOG as "<tool> <command> <args>".
# csim_design compiles the testbench (add_files -tb) with the sources under g++ and runs it; cosim_design (after
# csynth_design) reruns that C testbench, as the double has no RTL simulator.
# It fails on: an unset environment variable (tcl's own error), a missing file or include folder, an
# unknown part, a top function absent from the added sources, an HLS source that g++ -fsyntax-only
# rejects against the open ap_int headers (and finn-hlslib unless the test gave a stub of it); read_saif of a
# file that is not there; in a block design: a module cell (create_bd_cell -type module -reference X) whose module X no added Verilog defines,
# or whose Verilog `verilator --lint-only` rejects ($QSNN_VERILATOR, if set), and a pin or interface the
# design connects that the cell's module lacks (interface NAME: ports NAME_TDATA/TVALID/TREADY).
# The only files it writes are the folders FINN checks for, each holding a file that says what it is.

set ::tool [lindex $argv 0]
set ::script [lindex $argv 1]
set ::sources {}
set ::tb_sources {}
set ::csim_exe ""
set ::synthesized 0
set ::cflags {}
set ::top ""
set ::proj ""
set ::projdir "."
set ::bd ""
set ::known_parts [split $::env(QSNN_KNOWN_PARTS) ","]
set ::note "written by qsnn-pynq's vendor-tool test double (tests/vendor_doubles): not tool output"

proc record {args} {
    set f [open $::env(QSNN_DOUBLE_LOG) a]
    puts $f "$::tool [join $args { }]"
    close $f
}

proc fail {msg} {
    record FAIL $msg
    puts stderr "test double of $::tool: $msg"
    exit 3
}

proc check_part {p} {
    if {[lsearch -exact $::known_parts $p] < 0} { fail "unknown part '$p'" }
}

proc check_file {f what} {
    if {[string index $f 0] eq "/" && ![file exists $f]} { fail "$what '$f' does not exist" }
}

proc leave_marker {dir} {
    file mkdir $dir
    set f [open [file join $dir DOUBLE_NOT_TOOL_OUTPUT.txt] w]
    puts $f $::note
    close $f
}

# anything not stubbed below: record it and return a handle, as Vivado's object commands do
proc unknown {args} {
    record {*}$args
    return "double_obj_[lindex $args 0]"
}

# -- Vivado power analysis -------------------------------------------------------------------------
# read_saif needs its file; report_power after it is what the flow's vector-based estimate asks for
proc read_saif {args} {
    record read_saif {*}$args
    set f [lindex $args end]
    if {![file isfile $f]} { fail "read_saif: no SAIF file '$f'" }
}

# -- Vitis HLS ------------------------------------------------------------------------------------
proc open_project {name args} { record open_project $name {*}$args; set ::proj $name }
proc open_solution {name args} { record open_solution $name {*}$args }
proc set_part {p args} { record set_part $p {*}$args; check_part $p }
proc set_top {name} { record set_top $name; set ::top $name }
proc add_files {args} {
    record add_files {*}$args
    set files {}
    set tb [expr {[lsearch -exact $args "-tb"] >= 0}]
    for {set i 0} {$i < [llength $args]} {incr i} {
        set a [lindex $args $i]
        if {$a eq "-cflags"} {
            incr i
            lappend ::cflags [lindex $args $i]
            foreach flag [lindex $args $i] {
                if {[string match "-I*" $flag]} { check_file [string range $flag 2 end] "include folder" }
            }
        } elseif {[string index $a 0] ne "-"} { lappend files $a }
    }
    foreach f $files {
        if {[string index $f 0] ne "/" && ![file exists $f]} { fail "source '$f' does not exist" }
        check_file $f "source"
        if {$tb} { lappend ::tb_sources $f } else { lappend ::sources $f }
    }
}
proc syntax_check {src flags} {
    set fh [open $src]; set text [read $fh]; close $fh
    set deps [expr {[info exists ::env(FINN_DEPS)] ? $::env(FINN_DEPS) : ""}]
    foreach flag $flags { if {[string match "-I*finn-hlslib" $flag]} { set deps [file dirname [string range $flag 2 end]] } }
    set stub [file join $deps finn-hlslib QSNN_TEST_STUB]
    if {[string match {*bnn-library.h*} $text] && [file exists $stub]} {
        record SYNTAX_SKIPPED $src "(finn-hlslib is a test stub)"
        return
    }
    set incs {}
    foreach flag $flags { if {[string match "-I*" $flag]} { lappend incs $flag } }
    set extra [expr {[info exists ::env(QSNN_CSIM_FLAGS)] ? $::env(QSNN_CSIM_FLAGS) : ""}]
    if {[catch {exec g++ -fsyntax-only -std=c++14 -w {*}$extra {*}$incs -I$::env(QSNN_AP_HEADERS) -I[file dirname $src] \
            $src 2>@1} err]} {
        fail "g++ -fsyntax-only rejects $src: $err"
    }
    record SYNTAX_OK $src
}
# csim: the testbench (add_files -tb) and the sources compiled with g++ (the open ap_int headers, and the flags in
# $QSNN_CSIM_FLAGS: the project's stand-ins for the Vitis headers finn-hlslib includes) and run in the folder
proc csim_design {args} {
    record csim_design {*}$args
    build_testbench csim_design
    run_testbench csim
}
proc build_testbench {stage} {
    if {$::csim_exe ne ""} { return }
    set tb {}
    foreach f $::tb_sources { if {[string match *.cpp $f]} { lappend tb $f } }
    set has_main 0
    foreach f $tb { set fh [open $f]; if {[regexp {\mmain\s*\(} [read $fh]]} { set has_main 1 }; close $fh }
    if {!$has_main} { fail "$stage: no testbench source (add_files -tb) defines main()" }
    set incs {}
    foreach flag [join $::cflags " "] { if {[string match "-I*" $flag]} { lappend incs $flag } }
    set extra [expr {[info exists ::env(QSNN_CSIM_FLAGS)] ? $::env(QSNN_CSIM_FLAGS) : ""}]
    set ::csim_exe [file normalize "csim_double.exe"]
    if {[catch {exec g++ -std=c++17 -O1 -w {*}$extra {*}$incs -I$::env(QSNN_AP_HEADERS) -I. {*}$::sources {*}$tb \
            -o $::csim_exe 2>@1} err]} {
        fail "$stage: g++ rejects the sources or testbench: [string range $err 0 2000]"
    }
}
proc run_testbench {stage} {
    if {[catch {exec $::csim_exe 2>@1} out]} { puts $out; fail "$stage: the testbench failed: [lindex [split $out "\n"] end]" }
    puts $out
    record TESTBENCH_OK $stage [string trim $out]
}
# cosim: needs csynth_design first (as Vitis HLS does); the double cannot simulate RTL, so it runs the C testbench
proc cosim_design {args} {
    record cosim_design {*}$args
    if {!$::synthesized} { fail "cosim_design before csynth_design" }
    build_testbench cosim_design
    leave_marker [file join $::proj sol1 sim]
    run_testbench cosim
}
proc csynth_design {args} {
    record csynth_design {*}$args
    set ::synthesized 1
    if {$::top eq ""} { fail "csynth_design without set_top" }
    set found 0
    foreach src $::sources {
        set fh [open $src]; set text [read $fh]; close $fh
        if {[regexp "\\m$::top\\s*\\(" $text]} { set found 1 }
    }
    if {!$found} { fail "top function '$::top' is not defined in the added sources ($::sources)" }
    foreach src $::sources { syntax_check $src [join $::cflags " "] }
}
proc export_design {args} {
    record export_design {*}$args
    leave_marker [file join $::proj sol1 impl ip]
    leave_marker [file join $::proj sol1 impl verilog]
}

# -- Vivado ---------------------------------------------------------------------------------------
proc create_project {args} {
    record create_project {*}$args
    set pos {}
    for {set i 0} {$i < [llength $args]} {incr i} {
        set a [lindex $args $i]
        if {$a eq "-part"} { incr i; check_part [lindex $args $i] } elseif {[string index $a 0] ne "-"} { lappend pos $a }
    }
    set ::proj [lindex $pos 0]
    if {[llength $pos] > 1} { set ::projdir [lindex $pos 1] }
}
proc create_bd_design {name args} { record create_bd_design $name {*}$args; set ::bd $name }
proc set_property {args} {
    record set_property {*}$args
    if {[lindex $args 0] eq "ip_repo_paths"} {
        foreach d [lindex $args 1] { check_file $d "IP repository" }
    }
    if {[lindex $args 0] eq "part"} { check_part [lindex $args 1] }
}
proc get_property {args} {
    record get_property {*}$args
    # numeric properties the scripts compute with (address widths of AXI-lite interfaces)
    if {[string match -nocase "*WIDTH*" [lindex $args 0]]} { return 12 }
    return "double_obj_get_property"
}
# module cells of the block design: cell name -> the text of its module's header (up to its port list's end)
array set ::module_cells {}
proc create_bd_cell {args} {
    record create_bd_cell {*}$args
    set i [lsearch -exact $args "-reference"]
    if {[lindex $args [expr {[lsearch -exact $args "-type"] + 1}]] ne "module" || $i < 0} {
        return "double_obj_cell"
    }
    set module [lindex $args [expr {$i + 1}]]
    set cell [lindex $args end]
    set verilog {}
    set header ""
    foreach src $::sources {
        if {![string match *.v $src] && ![string match *.sv $src]} { continue }
        lappend verilog $src
        set fh [open $src]; set text [read $fh]; close $fh
        if {[regexp -line "^module\\s+$module\\M" $text]} {
            set start [string first "module $module" $text]
            set header [string range $text $start [string first ");" $text $start]]
        }
    }
    if {$header eq ""} { fail "module cell $cell: module '$module' is defined in none of the added sources" }
    set ::module_cells($cell) $header
    if {[info exists ::env(QSNN_VERILATOR)]} {
        # +define+FINN_SIMULATION: finn-rtllib's fifo.sv does not elaborate in Verilator (an unpacked struct in a
        # constant function, verilator#3826), so a FINN FIFO cell's wrapper is linted around FINN's simulation
        # model (fifo_gauge, the same ports); this project's modules do not read the macro
        if {[catch {exec {*}$::env(QSNN_VERILATOR) --lint-only -Wno-fatal -Wno-DECLFILENAME -Wno-UNUSEDSIGNAL \
                +define+FINN_SIMULATION --top-module $module {*}$verilog 2>@1} err]} {
            fail "verilator --lint-only rejects module '$module': [lindex [split $err "\n"] 0]"
        }
        record LINT_OK $module
    }
    return "double_obj_cell"
}
proc check_cell_port {what path ports} {
    set cell [join [lrange [split $path /] 0 end-1] /]
    set name [lindex [split $path /] end]
    if {![info exists ::module_cells($cell)]} { return }
    foreach port $ports {
        if {![regexp "\\m$port\\M" $::module_cells($cell)]} { fail "$what $path: the cell's module lacks port '$port'" }
    }
}
proc get_bd_pins {args} {
    record get_bd_pins {*}$args
    foreach a $args { if {[string first / $a] > 0} { check_cell_port pin $a [list [lindex [split $a /] end]] } }
    return "double_obj_get_bd_pins"
}
proc get_bd_intf_pins {args} {
    record get_bd_intf_pins {*}$args
    foreach a $args {
        if {[string first / $a] > 0} {
            set n [lindex [split $a /] end]
            check_cell_port interface $a [list ${n}_TDATA ${n}_TVALID ${n}_TREADY]
        }
    }
    return "double_obj_get_bd_intf_pins"
}
proc read_verilog {args} { record read_verilog {*}$args; foreach f $args { check_file $f "Verilog source" } }
proc import_files {args} { record import_files {*}$args; foreach f $args { check_file $f "file" } }
namespace eval ipx {}
proc ipx::package_project {args} {
    record ipx::package_project {*}$args
    set i [lsearch -exact $args "-root_dir"]
    set ::ipx_root [expr {$i >= 0 ? [lindex $args [expr {$i + 1}]] : "ip"}]
    return "double_obj_core"
}
proc ipx::save_core {args} {
    record ipx::save_core {*}$args
    file mkdir $::ipx_root
    set f [open [file join $::ipx_root component.xml] w]
    puts $f "<!-- $::note -->"
    close $f
}
proc make_wrapper {args} {
    record make_wrapper {*}$args
    set d [file join $::projdir $::proj.srcs sources_1 bd $::bd hdl]
    file mkdir $d
    set f [open [file join $d ${::bd}_wrapper.v] w]
    puts $f "// $::note"
    close $f
}

if {![file exists $::script]} { fail "tcl script '$::script' not found" }
record RUN $::script
# FINN's wrapper scripts end with a `cd`, hiding the tool's exit code: record the failure in the log too
if {[catch {uplevel #0 [list source $::script]} err]} { fail "error in $::script: $err" }
record DONE $::script
exit 0
