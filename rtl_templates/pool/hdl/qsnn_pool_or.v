// qsnn-pynq: max-pooling of spikes, written by hand (FINN's Pool has an HLS backend only, and for {0, 1} spikes
// the max over a window is the OR of its spikes: no comparators). It reads FINN's depthwise sliding-window
// layout, (C / PE, K, PE) per output pixel: for each channel fold, the window's K beats of PE spikes, and emits
// one beat of PE spikes per channel fold, so the output is the NHWC stream in folds of PE channels.
// One input beat per cycle; the output register takes the last beat of a window while the previous result
// leaves, so the core never stalls a stream that is not itself stalled.
module qsnn_pool_or #(
    parameter integer PE = 1,  // channels per beat
    parameter integer K = 4    // window size (KH * KW)
) (
    input wire clk,
    input wire rst_n,
    input wire [PE-1:0] in_tdata,
    input wire in_tvalid,
    output wire in_tready,
    output reg [PE-1:0] out_tdata,
    output reg out_tvalid,
    input wire out_tready
);
  localparam integer KB = K > 1 ? $clog2(K) : 1;
  reg [KB-1:0] k;
  reg [PE-1:0] acc;
  wire last = k == K - 1;
  // a window's last beat needs the output register free (or leaving this cycle); the others never wait
  assign in_tready = !last || !out_tvalid || out_tready;
  wire take = in_tvalid && in_tready;
  always @(posedge clk) begin
    if (!rst_n) begin
      k <= 0;
      acc <= 0;
      out_tvalid <= 1'b0;
      out_tdata <= 0;
    end else begin
      if (out_tvalid && out_tready) out_tvalid <= 1'b0;
      if (take) begin
        if (last) begin
          out_tdata <= (K > 1 ? acc : {PE{1'b0}}) | in_tdata;
          out_tvalid <= 1'b1;
          k <= 0;
        end else begin
          acc <= (k == 0 ? {PE{1'b0}} : acc) | in_tdata;
          k <= k + 1'b1;
        end
      end
    end
  end

`ifdef QSNN_ACTIVITY
  // Simulation only (see qsnn_synapse): beats taken (PE-lane ORs each) and spikes emitted.
  reg [63:0] act_in = 0, act_spikes = 0;
  integer act_p, act_n;
  always @(posedge clk)
    if (rst_n) begin
      if (take) act_in <= act_in + 1;
      if (out_tvalid && out_tready) begin
        act_n = 0;
        for (act_p = 0; act_p < PE; act_p = act_p + 1) act_n = act_n + out_tdata[act_p];
        act_spikes <= act_spikes + act_n;
      end
    end
  final $display("qsnn_activity %m pool in_beats=%0d spikes=%0d pe=%0d", act_in, act_spikes, PE);
`endif
endmodule
