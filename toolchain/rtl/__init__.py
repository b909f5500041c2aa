"""The RTL backend of the spiking layers: Verilog generation, Verilator simulation, Yosys synthesis counts."""
