"""RTL backends of this project's HW ops (FINN's ``<op>_rtl`` convention); they only emit Verilog."""
