// qsnn-pynq: streaming fixed-point LIF neuron layer (RTL backend). Computes DESIGN.md's neuron exactly:
//   L = leak(V[t-1]);  U = sat_B(L + R(I[t] + bias[i], INPUT_SHIFT));  s = U >= THRESHOLD;
//   CubaLIF (CUBA): J = sat_B(R(J[t-1] * ALPHA_INT, BETA_FRAC) + R(I[t] + bias[i], INPUT_SHIFT)), U = sat_B(L + J)
//                   (alpha per neuron from alpha_data with PER_NEURON_ALPHA)
//   V[t] = U - THRESHOLD (subtract) | 0 (zero) if s, else U;  V[-1] = 0
//   leak: none V | shift V - (V >>> LEAK_SHIFT) | beta R(V * BETA_INT, BETA_FRAC)
//   R: floor (x >>> F) | nearest ((x + 2^(F-1)) >>> F) | stochastic ((x + r) >>> F),
//      r = fmix32(SEED ^ t*0x9E3779B1 ^ i*0x85EBCA77) mod 2^F (i = nf*PE + p); the input shift's r is its top k bits
// OUT_BITS = B: the LI readout (toolchain/neurons/li.py): V[t] = sat_B(leak(V[t-1]) + x), streamed out, no spike.
// Streams (AXI-Stream, valid/ready): in  = PE lanes of IN_BITS accumulators, lane p in bits [p*IN_BITS +: IN_BITS];
//                                    out = PE spikes, lane p in bit p (LI: PE membranes of OUT_BITS bits each). One beat per cycle (II = 1), full backpressure.
// A sample is STEPS frames of CHANNELS / PE beats; the membrane state is not read at t = 0 (cleared per sample).
// The per-neuron bias lives in a ROM outside this core (bias_addr -> bias_data one cycle later), so the
// generated wrapper owns the constants (read when bias_en, like the membrane). MEM_STYLE: "registers", "distributed" (LUTRAM) or "block" (BRAM).
module qsnn_lif #(
    parameter integer CHANNELS = 16,
    parameter integer PE = 4,
    parameter integer STEPS = 8,
    parameter integer B = 16,  // membrane width (signed)
    parameter integer IN_BITS = 20,
    parameter integer IN_SIGNED = 1,
    parameter integer BIAS_BITS = 8,
    parameter integer WIDE = 40,  // internal width: holds leak products, sums and the saturation bounds
    parameter integer THRESHOLD = 100,
    // 1: the threshold / beta / alpha of each neuron come from threshold_data / beta_data / alpha_data (the wrapper's
    // ROMs, read like the bias), not from THRESHOLD / BETA_INT / ALPHA_INT
    parameter integer PER_NEURON_THRESHOLD = 0,
    parameter integer PER_NEURON_BETA = 0,
    parameter integer PER_NEURON_ALPHA = 0,
    parameter integer INPUT_SHIFT = 0,  // k: U = sat_B(L + R(I + bias, k)), the membrane in 2^k accumulator units
    parameter integer CUBA = 0,  // 1: CubaLIF, a synaptic current J = sat_B(R(J * ALPHA_INT, BETA_FRAC) + input)
    parameter integer ALPHA_INT = 0,
    parameter integer OUT_BITS = 1,  // 1: spikes; B: an LI readout (no threshold, no reset) streams its membrane
    parameter integer LEAK = 2,  // 0 none, 1 shift, 2 beta
    parameter integer LEAK_SHIFT = 4,
    parameter integer BETA_INT = 240,
    parameter integer BETA_FRAC = 8,
    parameter integer ROUNDING = 1,  // 0 floor, 1 nearest, 2 stochastic
    parameter integer RESET = 0,  // 0 subtract, 1 zero
    parameter [31:0] SEED = 32'd7,
    parameter MEM_STYLE = "distributed",
    parameter integer NF = CHANNELS / PE,
    parameter integer NF_BITS = (NF > 1) ? $clog2(NF) : 1,
    parameter integer T_BITS = (STEPS > 1) ? $clog2(STEPS) : 1
) (
    input wire clk,
    input wire rst_n,
    input wire [PE*IN_BITS-1:0] in_tdata,
    input wire in_tvalid,
    output wire in_tready,
    output reg [PE*OUT_BITS-1:0] out_tdata,
    output reg out_tvalid,
    input wire out_tready,
    output wire bias_en,
    output wire [NF_BITS-1:0] bias_addr,
    input wire [PE*BIAS_BITS-1:0] bias_data,
    input wire [PE*B-1:0] threshold_data,  // per-neuron thresholds (PER_NEURON_THRESHOLD), else unused
    input wire [PE*(BETA_FRAC+2)-1:0] beta_data,  // per-neuron beta_int (PER_NEURON_BETA), else unused
    input wire [PE*(BETA_FRAC+2)-1:0] alpha_data  // per-neuron alpha_int (CUBA, PER_NEURON_ALPHA), else unused
);
  // -- stage 1: the accepted beat, its neuron fold and time step; membrane and bias reads in flight --------
  reg [PE*IN_BITS-1:0] s1_data;
  reg s1_valid;
  reg [NF_BITS-1:0] s1_nf, nf_c;
  reg [T_BITS-1:0] s1_t, t_c;
  wire advance = !out_tvalid || out_tready;  // the output register can take a result this cycle
  wire fire = s1_valid && advance;  // stage 1 computes and writes back
  assign in_tready = !s1_valid || advance;
  wire accept = in_tvalid && in_tready;
  assign bias_addr = nf_c;
  assign bias_en = accept;

  (* ram_style = MEM_STYLE *) reg [PE*B-1:0] membrane[0:NF-1];
  reg [PE*B-1:0] mem_rd, byp_data;
  reg byp;
  wire [PE*B-1:0] v_next_all;
  wire [PE*B-1:0] j_prev_all, j_next_all;  // CubaLIF's synaptic current (unused by LIF)

  always @(posedge clk) begin
    if (accept) begin
      mem_rd <= membrane[nf_c];
      // the previous beat writes this address in this very cycle (NF = 1): forward its value
      byp <= fire && (s1_nf == nf_c);
      byp_data <= v_next_all;
    end
    if (fire) membrane[s1_nf] <= v_next_all;
  end

  generate
    if (CUBA) begin : cur
      // the current J: a second state memory, read and written exactly like the membrane
      (* ram_style = MEM_STYLE *) reg [PE*B-1:0] current[0:NF-1];
      reg [PE*B-1:0] cur_rd, cbyp_data;
      always @(posedge clk) begin
        if (accept) begin
          cur_rd <= current[nf_c];
          cbyp_data <= j_next_all;
        end
        if (fire) current[s1_nf] <= j_next_all;
      end
      assign j_prev_all = byp ? cbyp_data : cur_rd;
    end else begin : nocur
      assign j_prev_all = {PE * B{1'b0}};
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      s1_valid <= 1'b0;
      nf_c <= 0;
      t_c <= 0;
      out_tvalid <= 1'b0;
    end else begin
      if (accept) begin
        s1_data <= in_tdata;
        s1_nf <= nf_c;
        s1_t <= t_c;
        if (nf_c == NF - 1) begin
          nf_c <= 0;
          t_c <= (t_c == STEPS - 1) ? 0 : t_c + 1'b1;
        end else begin
          nf_c <= nf_c + 1'b1;
        end
      end
      if (fire) s1_valid <= accept;
      else if (accept) s1_valid <= 1'b1;
      if (advance) out_tvalid <= s1_valid;
    end
  end

  wire [PE*B-1:0] v_prev_all = byp ? byp_data : mem_rd;
  wire [PE*OUT_BITS-1:0] outs;
  always @(posedge clk) if (fire) out_tdata <= outs;

  // -- per-lane neuron update (combinational from stage 1) ------------------------------------------------
  genvar p;
  generate
    for (p = 0; p < PE; p = p + 1) begin : lane
      wire signed [WIDE-1:0] v = (s1_t == 0) ? {WIDE{1'b0}} : {{(WIDE - B) {v_prev_all[p*B+B-1]}}, v_prev_all[p*B+:B]};
      wire signed [WIDE-1:0] x;
      if (IN_SIGNED) begin : sx
        assign x = {{(WIDE - IN_BITS) {s1_data[p*IN_BITS+IN_BITS-1]}}, s1_data[p*IN_BITS+:IN_BITS]};
      end else begin : ux
        assign x = {{(WIDE - IN_BITS) {1'b0}}, s1_data[p*IN_BITS+:IN_BITS]};
      end
      wire signed [WIDE-1:0] b = {{(WIDE - BIAS_BITS) {bias_data[p*BIAS_BITS+BIAS_BITS-1]}}, bias_data[p*BIAS_BITS+:BIAS_BITS]};
      // one hash per (t, i): its low BETA_FRAC bits round the leak, its top INPUT_SHIFT bits round the input
      wire [31:0] h;
      if (ROUNDING == 2) begin : hash
        wire [31:0] i = s1_nf * PE + p;
        wire [31:0] key = SEED ^ ({{(32 - T_BITS) {1'b0}}, s1_t} * 32'h9E3779B1) ^ (i * 32'h85EBCA77);
        wire [31:0] h1 = key ^ (key >> 16);
        wire [31:0] h2 = h1 * 32'h85EBCA6B;
        wire [31:0] h3 = h2 ^ (h2 >> 13);
        wire [31:0] h4 = h3 * 32'hC2B2AE35;
        assign h = h4 ^ (h4 >> 16);
      end else begin : nohash
        assign h = 32'd0;
      end
      wire signed [WIDE-1:0] thr;  // this neuron's threshold and beta: the constants, or the ROM words
      if (PER_NEURON_THRESHOLD) begin : thr_rom
        assign thr = {{(WIDE - B) {1'b0}}, threshold_data[p*B+:B]};
      end else begin : thr_const
        assign thr = THRESHOLD;
      end
      wire signed [WIDE-1:0] leaked;
      if (LEAK == 0) begin : none
        assign leaked = v;
      end else if (LEAK == 1) begin : shift
        assign leaked = v - (v >>> LEAK_SHIFT);
      end else begin : beta
        wire signed [WIDE-1:0] prod;
        if (PER_NEURON_BETA) begin : rom
          assign prod = v * $signed({{(WIDE - BETA_FRAC - 2) {1'b0}}, beta_data[p*(BETA_FRAC+2)+:BETA_FRAC+2]});
        end else begin : const_
          assign prod = v * $signed(BETA_INT);
        end
        wire signed [WIDE-1:0] offset;
        if (ROUNDING == 0) begin : fl
          assign offset = 0;
        end else if (ROUNDING == 1) begin : ne
          assign offset = {{(WIDE - 1) {1'b0}}, 1'b1} <<< (BETA_FRAC - 1);
        end else begin : st
          assign offset = {{(WIDE - 32) {1'b0}}, h & ((32'd1 << BETA_FRAC) - 1)};
        end
        wire signed [WIDE-1:0] sum = prod + offset;
        assign leaked = sum >>> BETA_FRAC;
      end
      // the membrane counts 2^INPUT_SHIFT accumulator units: R(x + b, INPUT_SHIFT)
      wire signed [WIDE-1:0] xb = x + b;
      wire signed [WIDE-1:0] xs;
      if (INPUT_SHIFT == 0) begin : noshift
        assign xs = xb;
      end else if (ROUNDING == 0) begin : shfl
        assign xs = xb >>> INPUT_SHIFT;
      end else begin : shr
        // a signed wire: an unsigned operand would make the sum unsigned and >>> a logical shift
        wire signed [WIDE-1:0] r;
        if (ROUNDING == 1) begin : ne
          assign r = {{(WIDE - 1) {1'b0}}, 1'b1} <<< (INPUT_SHIFT - 1);
        end else begin : st
          assign r = {{(WIDE - 32) {1'b0}}, h >> (32 - INPUT_SHIFT)};
        end
        wire signed [WIDE-1:0] sum = xb + r;
        assign xs = sum >>> INPUT_SHIFT;
      end
      wire signed [WIDE-1:0] lo = -({{(WIDE - 1) {1'b0}}, 1'b1} <<< (B - 1));
      wire signed [WIDE-1:0] hi = ({{(WIDE - 1) {1'b0}}, 1'b1} <<< (B - 1)) - 1;
      wire signed [WIDE-1:0] drive;  // what the membrane integrates: the input, or CubaLIF's current
      if (CUBA) begin : cuba
        wire signed [WIDE-1:0] j = (s1_t == 0) ? {WIDE{1'b0}} : {{(WIDE - B) {j_prev_all[p*B+B-1]}}, j_prev_all[p*B+:B]};
        wire signed [WIDE-1:0] jprod;
        if (PER_NEURON_ALPHA) begin : rom
          assign jprod = j * $signed({{(WIDE - BETA_FRAC - 2) {1'b0}}, alpha_data[p*(BETA_FRAC+2)+:BETA_FRAC+2]});
        end else begin : const_
          assign jprod = j * $signed(ALPHA_INT);
        end
        wire signed [WIDE-1:0] joff;
        if (ROUNDING == 0) begin : fl
          assign joff = 0;
        end else if (ROUNDING == 1) begin : ne
          assign joff = {{(WIDE - 1) {1'b0}}, 1'b1} <<< (BETA_FRAC - 1);
        end else begin : st  // bits [F, 2F) of the hash
          assign joff = {{(WIDE - 32) {1'b0}}, (h >> BETA_FRAC) & ((32'd1 << BETA_FRAC) - 1)};
        end
        wire signed [WIDE-1:0] jsum = jprod + joff;
        wire signed [WIDE-1:0] jraw = (jsum >>> BETA_FRAC) + xs;
        wire signed [WIDE-1:0] jn = (jraw < lo) ? lo : ((jraw > hi) ? hi : jraw);
        assign j_next_all[p*B+:B] = jn[B-1:0];
        assign drive = jn;
      end else begin : lif
        assign j_next_all[p*B+:B] = {B{1'b0}};
        assign drive = xs;
      end
      wire signed [WIDE-1:0] u_raw = leaked + drive;
      wire signed [WIDE-1:0] u = (u_raw < lo) ? lo : ((u_raw > hi) ? hi : u_raw);
      if (OUT_BITS == 1) begin : spiking
        wire spike = (u >= thr);
        assign outs[p] = spike;
        wire signed [WIDE-1:0] vn = spike ? ((RESET == 0) ? u - thr : {WIDE{1'b0}}) : u;
        assign v_next_all[p*B+:B] = vn[B-1:0];
      end else begin : readout  // LI: V = U, streamed out
        assign outs[p*OUT_BITS+:OUT_BITS] = u[OUT_BITS-1:0];
        assign v_next_all[p*B+:B] = u[B-1:0];
      end
    end
  endgenerate

`ifdef QSNN_ACTIVITY
  // Simulation only (see qsnn_synapse): per neuron update (PE per fired beat) one B-bit membrane read and write
  // (two with CubaLIF's current), the leak, the integrate and the threshold compare; spikes: the ones emitted.
  reg [63:0] act_beats = 0, act_spikes = 0;
  integer act_p, act_n;
  always @(posedge clk)
    if (rst_n && fire) begin
      act_beats <= act_beats + 1;
      act_n = 0;
      if (OUT_BITS == 1) for (act_p = 0; act_p < PE; act_p = act_p + 1) act_n = act_n + outs[act_p];
      act_spikes <= act_spikes + act_n;
    end
  final
    $display("qsnn_activity %m lif beats=%0d updates=%0d spikes=%0d pe=%0d b=%0d leak=%0d cuba=%0d beta_frac=%0d bias_bits=%0d",
             act_beats, act_beats * PE, act_spikes, PE, B, LEAK, CUBA, BETA_FRAC, BIAS_BITS);
`endif
endmodule

// qsnn-pynq: the input stage of a recurrent LIF layer (RTL backend): adds V s[t-1] to each beat's PE inputs, from
// the layer's own spikes of the step before, which it reads off the core's output stream (sp_*: the handshake
// and spikes of qsnn_lif's output). Per beat it walks the CHANNELS spikes of the step before, one per cycle,
// adding each spiking neuron j's weights V[nf*PE+p][j] (a ROM word of PE weights at nf*CHANNELS + j, read one
// cycle ahead: v_addr -> v_data): CHANNELS + 2 cycles a beat. A step's first beat waits until the core has
// emitted every spike of the step before (its output counter); a sample's first step adds nothing.
module qsnn_recurrent #(
    parameter integer CHANNELS = 16,
    parameter integer PE = 4,
    parameter integer STEPS = 8,
    parameter integer IN_BITS = 20,
    parameter integer IN_SIGNED = 1,
    parameter integer V_BITS = 4,
    parameter integer OUT_BITS = 24,  // signed: any input plus any row's sum of V
    parameter integer NF = CHANNELS / PE,
    parameter integer NF_BITS = (NF > 1) ? $clog2(NF) : 1,
    parameter integer T_BITS = (STEPS > 1) ? $clog2(STEPS) : 1,
    parameter integer J_BITS = (CHANNELS > 1) ? $clog2(CHANNELS) : 1,
    parameter integer A_BITS = (NF * CHANNELS > 1) ? $clog2(NF * CHANNELS) : 1
) (
    input wire clk,
    input wire rst_n,
    input wire [PE*IN_BITS-1:0] in_tdata,
    input wire in_tvalid,
    output wire in_tready,
    output wire [PE*OUT_BITS-1:0] out_tdata,
    output wire out_tvalid,
    input wire out_tready,
    input wire sp_fire,  // the core's output handshake ...
    input wire [PE-1:0] sp_data,  // ... and its PE spikes
    output wire [A_BITS-1:0] v_addr,
    input wire [PE*V_BITS-1:0] v_data
);
  localparam [1:0] IDLE = 2'd0, ACC = 2'd1, SEND = 2'd2;
  reg [1:0] state;
  reg [NF_BITS-1:0] nf, o_nf;
  reg [T_BITS-1:0] t;
  reg [15:0] started, finished;  // steps begun here, and steps whose spikes all left the core (mod 2^16)
  reg [CHANNELS-1:0] now, prev;  // the core's spikes of the step in flight, and of the step before
  reg [J_BITS:0] j;
  reg pending;  // a weight word is arriving (read the cycle before)
  reg [J_BITS-1:0] pending_j;

  // a step's first beat starts once the step before has left the core (a sample's first step: at once)
  wire may_start = (nf != 0) || (t == 0) || (finished == started);
  assign in_tready = (state == IDLE) && may_start;
  wire accept = in_tvalid && in_tready;
  assign out_tvalid = (state == SEND);
  assign v_addr = nf * CHANNELS + j[J_BITS-1:0];

  genvar p;
  generate
    for (p = 0; p < PE; p = p + 1) begin : lane
      wire signed [OUT_BITS-1:0] xin = IN_SIGNED ? {{(OUT_BITS - IN_BITS) {in_tdata[p*IN_BITS+IN_BITS-1]}}, in_tdata[p*IN_BITS+:IN_BITS]}
                                                 : {{(OUT_BITS - IN_BITS) {1'b0}}, in_tdata[p*IN_BITS+:IN_BITS]};
      wire signed [OUT_BITS-1:0] w = {{(OUT_BITS - V_BITS) {v_data[p*V_BITS+V_BITS-1]}}, v_data[p*V_BITS+:V_BITS]};
      reg signed [OUT_BITS-1:0] sum;  // this lane's input plus the weights of the spikes seen so far
      always @(posedge clk) begin
        if (accept) sum <= xin;
        else if (pending && prev[pending_j]) sum <= sum + w;
      end
      assign out_tdata[p*OUT_BITS+:OUT_BITS] = sum;
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      state <= IDLE;
      nf <= 0;
      t <= 0;
      o_nf <= 0;
      started <= 0;
      finished <= 0;
      now <= 0;
      prev <= 0;
      j <= 0;
      pending <= 1'b0;
    end else begin
      if (sp_fire) begin  // record the core's spikes; a step's last beat completes it
        now[o_nf*PE+:PE] <= sp_data;
        if (o_nf == NF - 1) begin
          o_nf <= 0;
          finished <= finished + 1'b1;
        end else o_nf <= o_nf + 1'b1;
      end
      pending <= (state == ACC) && (j < CHANNELS);
      pending_j <= j[J_BITS-1:0];
      case (state)
        IDLE:
        if (accept) begin
          if (nf == 0) begin
            started <= started + 1'b1;
            prev <= (t == 0) ? {CHANNELS{1'b0}} : now;
          end
          j <= 0;
          state <= ACC;
        end
        ACC:  // j walks the spikes of the step before; the last weight word lands the cycle after j = CHANNELS
        if (j < CHANNELS) j <= j + 1'b1;
        else if (!pending) state <= SEND;
        SEND:
        if (out_tready) begin
          state <= IDLE;
          if (nf == NF - 1) begin
            nf <= 0;
            t <= (t == STEPS - 1) ? 0 : t + 1'b1;
          end else nf <= nf + 1'b1;
        end
      endcase
    end
  end

`ifdef QSNN_ACTIVITY
  // Simulation only (see qsnn_synapse): V's weight words read (PE * V_BITS bits each) and the weights added (one per
  // lane per spike of the step before).
  reg [63:0] act_beats = 0, act_reads = 0, act_synops = 0;
  always @(posedge clk)
    if (rst_n) begin
      if (accept) act_beats <= act_beats + 1;
      if (pending) act_reads <= act_reads + 1;
      if (pending && prev[pending_j]) act_synops <= act_synops + PE;
    end
  final
    $display("qsnn_activity %m recurrent beats=%0d weight_reads=%0d synops=%0d v_bits=%0d sum_bits=%0d",
             act_beats, act_reads, act_synops, V_BITS, OUT_BITS);
`endif
endmodule
