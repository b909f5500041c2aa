// qsnn-pynq: synaptic layer I[i] = sum_j W[i][j] * x[j] (RTL backend), the MVAU of a spiking network.
// Per time step (frame) the MW inputs arrive as SF = MW / SIMD beats of SIMD lanes (lane s in bits
// [s*IN_BITS +: IN_BITS], element j = sf*SIMD + s) and are kept in a frame buffer; then for each of the
// NF = MH / PE neuron folds the SIMD x PE weight words are read and accumulated, and PE accumulators leave
// as one beat (lane p = neuron nf*PE + p, ACC_BITS two's complement each).
//   IN_BITS = 1 (spikes): no multipliers, a spike gates the add of its weight.
//   IN_BITS > 1 (direct encoding, first layer): x * w products (Yosys maps them to LUTs or DSP48E1).
//   EVENT = 1: silent chunks (SIMD inputs all zero) are skipped, so a fold costs one cycle per active chunk
//   instead of SF: cycles follow the spike activity. EVENT = 0: every chunk, every time (dense).
// Cycles per frame: SF (load) + NF * (chunks + 2), chunks = SF (dense) or the active ones (event-driven).
// The weights live in a ROM outside this core (w_addr = nf*SF + sf -> w_data one cycle later, when w_en).
module qsnn_synapse #(
    parameter integer MW = 64,
    parameter integer MH = 16,
    parameter integer SIMD = 8,
    parameter integer PE = 4,
    parameter integer IN_BITS = 1,
    parameter integer IN_SIGNED = 0,
    parameter integer W_BITS = 4,
    parameter integer ACC_BITS = 16,
    parameter integer EVENT = 0,
    parameter integer SF = MW / SIMD,
    parameter integer NF = MH / PE,
    parameter integer SF_BITS = (SF > 1) ? $clog2(SF) : 1,
    parameter integer NF_BITS = (NF > 1) ? $clog2(NF) : 1,
    parameter integer W_ADDR_BITS = (NF * SF > 1) ? $clog2(NF * SF) : 1
) (
    input wire clk,
    input wire rst_n,
    input wire [SIMD*IN_BITS-1:0] in_tdata,
    input wire in_tvalid,
    output wire in_tready,
    output wire [PE*ACC_BITS-1:0] out_tdata,
    output wire out_tvalid,
    input wire out_tready,
    output wire w_en,
    output wire [W_ADDR_BITS-1:0] w_addr,
    input wire [PE*SIMD*W_BITS-1:0] w_data
);
  localparam [1:0] LOAD = 2'd0, RUN = 2'd1, EMIT = 2'd2;
  reg [1:0] state;
  reg [SF_BITS-1:0] ld_c;
  reg [NF_BITS-1:0] nf;
  reg [SF-1:0] flags, pending;
  reg [PE*ACC_BITS-1:0] acc;
  reg p1;  // a chunk's frame word and weight word arrive this cycle

  (* ram_style = "distributed" *) reg [SIMD*IN_BITS-1:0] fbuf[0:SF-1];
  reg [SIMD*IN_BITS-1:0] fb_rd;

  assign in_tready = (state == LOAD);
  wire accept = in_tvalid && in_tready;
  assign out_tvalid = (state == EMIT);
  assign out_tdata = acc;

  // lowest pending chunk (event-driven: the next active one; dense: the next one): isolated by one carry chain,
  // then encoded by OR trees (bit b of sel: any lowest[k] with bit b of k set), so the depth grows as log SF
  wire [SF-1:0] lowest = pending & (~pending + 1'b1);
  wire [SF_BITS-1:0] sel;
  genvar b, c;
  generate
    for (b = 0; b < SF_BITS; b = b + 1) begin : enc
      wire [SF-1:0] has_bit;
      for (c = 0; c < SF; c = c + 1) begin : m
        assign has_bit[c] = (c >> b) & 1;
      end
      assign sel[b] = |(lowest & has_bit);
    end
  endgenerate
  wire issue = (state == RUN) && (pending != 0);
  assign w_en = issue;
  assign w_addr = nf * SF + sel;

  always @(posedge clk) begin
    if (accept) fbuf[ld_c] <= in_tdata;
    if (issue) fb_rd <= fbuf[sel];
  end

  wire [SF-1:0] flags_next = flags | ({{(SF - 1) {1'b0}}, (|in_tdata)} << ld_c);
  wire [SF-1:0] all_chunks = {SF{1'b1}};

  // PE dot products of the frame word and the weight word
  wire [PE*ACC_BITS-1:0] partial;
  genvar p, s;
  generate
    for (p = 0; p < PE; p = p + 1) begin : lane
      wire signed [ACC_BITS-1:0] terms[0:SIMD-1];
      for (s = 0; s < SIMD; s = s + 1) begin : el
        wire signed [W_BITS-1:0] w = w_data[(p*SIMD+s)*W_BITS+:W_BITS];
        if (IN_BITS == 1) begin : spike
          assign terms[s] = fb_rd[s] ? {{(ACC_BITS - W_BITS) {w[W_BITS-1]}}, w} : {ACC_BITS{1'b0}};
        end else if (IN_SIGNED) begin : sgn
          assign terms[s] = $signed(fb_rd[s*IN_BITS+:IN_BITS]) * w;
        end else begin : uns
          assign terms[s] = $signed({1'b0, fb_rd[s*IN_BITS+:IN_BITS]}) * w;
        end
      end
      reg signed [ACC_BITS-1:0] sum;
      integer t;
      always @* begin
        sum = 0;
        for (t = 0; t < SIMD; t = t + 1) sum = sum + terms[t];
      end
      assign partial[p*ACC_BITS+:ACC_BITS] = acc[p*ACC_BITS+:ACC_BITS] + sum;
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      state <= LOAD;
      ld_c <= 0;
      nf <= 0;
      flags <= 0;
      pending <= 0;
      acc <= 0;
      p1 <= 1'b0;
    end else begin
      p1 <= issue;
      if (p1) acc <= partial;
      case (state)
        LOAD:
        if (accept) begin
          if (ld_c == SF - 1) begin
            ld_c <= 0;
            flags <= flags_next;
            pending <= EVENT ? flags_next : all_chunks;
            nf <= 0;
            acc <= 0;
            state <= RUN;
          end else begin
            ld_c <= ld_c + 1'b1;
            flags <= flags_next;
          end
        end
        RUN:  // the last chunk's accumulation lands in the cycle that sees nothing pending
        if (pending != 0) pending <= pending & ~lowest;
        else state <= EMIT;
        EMIT:
        if (out_tready) begin
          acc <= 0;
          if (nf == NF - 1) begin
            flags <= 0;
            state <= LOAD;
          end else begin
            nf <= nf + 1'b1;
            pending <= EVENT ? flags : all_chunks;
            state <= RUN;
          end
        end
      endcase
    end
  end

`ifdef QSNN_ACTIVITY
  // Simulation only (Verilator builds define QSNN_ACTIVITY; synthesis never sees it): the events the
  // activity-based energy estimate (toolchain/estimate/energy.py) counts, printed once when the simulation ends.
  // synops: weights added (a spike input selects its weight) or products formed (multi-bit inputs), PE per
  // nonzero input of each accumulated chunk; weight_reads: PE*SIMD*W_BITS-bit words; acc_cycles: PE accumulator
  // updates each; in_beats: SIMD*IN_BITS-bit frame-buffer writes (and as many reads per weight word).
  reg [63:0] act_in = 0, act_wreads = 0, act_synops = 0, act_acc = 0, act_out = 0;
  integer act_i, act_nz;
  always @(posedge clk)
    if (rst_n) begin
      if (accept) act_in <= act_in + 1;
      if (issue) act_wreads <= act_wreads + 1;
      if (out_tvalid && out_tready) act_out <= act_out + 1;
      if (p1) begin
        act_nz = 0;
        for (act_i = 0; act_i < SIMD; act_i = act_i + 1) act_nz = act_nz + (|fb_rd[act_i*IN_BITS+:IN_BITS]);
        act_synops <= act_synops + PE * act_nz;
        act_acc <= act_acc + 1;
      end
    end
  final
    $display("qsnn_activity %m synapse in_beats=%0d weight_reads=%0d synops=%0d acc_cycles=%0d out_beats=%0d simd=%0d pe=%0d in_bits=%0d w_bits=%0d acc_bits=%0d",
             act_in, act_wreads, act_synops, act_acc, act_out, SIMD, PE, IN_BITS, W_BITS, ACC_BITS);
`endif
endmodule
