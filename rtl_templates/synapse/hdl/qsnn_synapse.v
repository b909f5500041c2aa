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
  reg [W_ADDR_BITS-1:0] fold_base;  // nf * SF, kept as a sum so no multiplier is inferred
  reg [SF-1:0] flags, pending;
  reg [PE*ACC_BITS-1:0] acc;
  reg p1;  // a chunk's frame word and weight word arrive this cycle

  (* ram_style = "distributed" *) reg [SIMD*IN_BITS-1:0] fbuf[0:SF-1];
  reg [SIMD*IN_BITS-1:0] fb_rd;

  assign in_tready = (state == LOAD);
  wire accept = in_tvalid && in_tready;
  assign out_tvalid = (state == EMIT);
  assign out_tdata = acc;

  // lowest pending chunk (event-driven: the next active one; dense: the next one)
  wire [SF-1:0] lowest;
  wire [SF_BITS-1:0] sel;
  qsnn_lowest #(.N(SF), .B(SF_BITS)) next_chunk (.bits(pending), .onehot(lowest), .index(sel));
  wire issue = (state == RUN) && (pending != 0);
  assign w_en = issue;
  assign w_addr = fold_base + sel;

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
      fold_base <= 0;
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
            fold_base <= 0;
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
            fold_base <= fold_base + SF;
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

// qsnn-pynq: the address-event synaptic layer (RTL backend, spike inputs): work that follows the spikes, not the
// inputs, in two stages that overlap (a double-buffered spike list), so a frame costs the slower of the two:
//   the lister takes the frame's SF beats of SIMD lanes and writes each set bit's input index into the list bank
//   it fills, lowest first, one a cycle (a priority encoder over SIMD bits); a beat costs max(1, its spikes)
//   cycles, the next beat entering as its last spike is listed; no frame buffer is kept. A full bank is handed
//   to the walker, and the lister fills the other one, waiting only while the walker still holds it;
//   the walker walks its bank once per neuron fold, one index a cycle: the index j reads its weight row,
//   V = W[nf*PE + p][j] for the PE lanes (a ROM word of PE weights at nf*MW + j, so the weights are laid out by
//   input row), and the PE accumulators add it; the fold's accumulators leave as one beat, or, with OUT_LANES < PE,
//   are copied into an output register that shifts them out OUT_LANES lanes a beat while the walker goes on (so a
//   wide walker feeds a narrow consumer, a LIF layer of OUT_LANES lanes, with no width converter).
// ROWS = 2: both stages take two spikes a cycle: the lister lists a beat's two lowest set bits (two priority
//   encoders), into a list split by position parity (two LUTRAMs, one write each); the walker reads two positions
//   and the ROM's two ports (w_addr2 -> w_data2: a dual-port BRAM), adding both weight rows in one cycle.
// Cycles per frame: lister F = sum over beats of max(1, ceil(spikes / ROWS)); walker NF * (ceil(active inputs /
// ROWS) + 3) (the walk, the last weight words' two cycles through the ROM, the emit beat; 2 for a silent frame). Frames
// back to back take max(F, walker) each (tests/test_rtl.py holds the exact schedule the simulation is held to).
module qsnn_synapse_ae #(
    parameter integer MW = 64,
    parameter integer MH = 16,
    parameter integer SIMD = 8,
    parameter integer PE = 4,
    parameter integer W_BITS = 4,
    parameter integer ACC_BITS = 16,
    parameter integer OUT_LANES = PE,
    parameter integer ROWS = 1,
    parameter integer SF = MW / SIMD,
    parameter integer NF = MH / PE,
    parameter integer SF_BITS = (SF > 1) ? $clog2(SF) : 1,
    parameter integer NF_BITS = (NF > 1) ? $clog2(NF) : 1,
    parameter integer S_BITS = (SIMD > 1) ? $clog2(SIMD) : 1,
    parameter integer J_BITS = (MW > 1) ? $clog2(MW) : 1,
    parameter integer K_BITS = $clog2(MW + 2),  // a list position, or one past its end (the walk steps by ROWS)
    parameter integer W_ADDR_BITS = (NF * MW > 1) ? $clog2(NF * MW) : 1
) (
    input wire clk,
    input wire rst_n,
    input wire [SIMD-1:0] in_tdata,
    input wire in_tvalid,
    output wire in_tready,
    output wire [OUT_LANES*ACC_BITS-1:0] out_tdata,
    output wire out_tvalid,
    input wire out_tready,
    output wire w_en,
    output wire [W_ADDR_BITS-1:0] w_addr,
    input wire [PE*W_BITS-1:0] w_data,
    output wire [W_ADDR_BITS-1:0] w_addr2,  // ROWS = 2: the second weight row (w_en reads both)
    input wire [PE*W_BITS-1:0] w_data2
);
  // two banks of the frame's active inputs, in order: at {position, bank} (ROWS = 2: even and odd positions in
  // two memories, at {position / 2, bank})
  reg [1:0] full;  // a bank holds a whole frame's list, handed to the walker
  reg [K_BITS-1:0] cnt[0:1];  // its length

  // -- the lister ---------------------------------------------------------------------------------------------
  reg wb;  // the bank it fills
  reg [K_BITS-1:0] count;  // indices listed into it so far
  reg [SIMD-1:0] chunk;  // the beat being listed: its bits not listed yet
  reg live;  // chunk holds a beat
  reg [SF_BITS-1:0] ld_c, chunk_c;  // beats taken of this frame; the beat number of chunk
  reg [J_BITS-1:0] ld_j, chunk_j;  // the same times SIMD (the index of lane 0), kept as sums: no multiplier
  wire [SIMD-1:0] lowest_bit;
  wire [S_BITS-1:0] bit_sel;
  qsnn_lowest #(.N(SIMD), .B(S_BITS)) next_spike (.bits(chunk), .onehot(lowest_bit), .index(bit_sel));
  wire [SIMD-1:0] rest = chunk & ~lowest_bit;
  wire [SIMD-1:0] lowest_bit2, rest2;
  wire [S_BITS-1:0] bit_sel2;
  wire w1 = live && (chunk != 0);  // the spikes listed this cycle: the lowest, and (ROWS = 2) the next
  wire w2 = (ROWS == 2) && live && (rest != 0);
  wire [SIMD-1:0] unlisted = (ROWS == 2) ? rest2 : rest;
  wire finishing = live && (unlisted == 0);  // the beat's last spike (or none) is listed this cycle
  wire closing = finishing && (chunk_c == SF - 1);  // ... and it was the frame's last beat
  wire next_bank = closing ? ~wb : wb;  // where a beat taken now goes
  assign in_tready = (!live || finishing) && !full[next_bank];
  wire accept = in_tvalid && in_tready;

  // -- the walker ---------------------------------------------------------------------------------------------
  localparam [1:0] WAIT = 2'd0, RUN = 2'd1, EMIT = 2'd2;
  reg [1:0] state;
  reg rb;  // the bank it walks
  reg [NF_BITS-1:0] nf;
  reg [W_ADDR_BITS-1:0] fold_base;  // nf * MW, kept as a sum so no multiplier is inferred
  reg [K_BITS-1:0] k;  // the walk's next position
  reg [J_BITS-1:0] j_q, j_q2;  // the indices read from the list ...
  reg valid_q, valid_w, valid_q2, valid_w2;  // ... in flight to the ROM, and their weight words arriving
  reg [PE*ACC_BITS-1:0] acc;
  wire walking = (state == RUN) && (k < cnt[rb]);
  wire emit_go;  // the fold's accumulators leave (or move to the output register) this cycle
  wire releasing = emit_go && (nf == NF - 1);  // the frame's last fold
  generate
    if (OUT_LANES < PE) begin : serial
      localparam integer BEATS = PE / OUT_LANES;
      reg [PE*ACC_BITS-1:0] obuf;
      reg [$clog2(BEATS + 1)-1:0] left;  // beats of obuf not taken yet
      assign emit_go = (state == EMIT) && (left == 0 || (left == 1 && out_tready));
      assign out_tvalid = (left != 0);
      assign out_tdata = obuf[OUT_LANES*ACC_BITS-1:0];
      always @(posedge clk)
        if (!rst_n) left <= 0;
        else if (emit_go) begin
          obuf <= acc;
          left <= BEATS;
        end else if (out_tvalid && out_tready) begin
          obuf <= obuf >> (OUT_LANES * ACC_BITS);
          left <= left - 1'b1;
        end
    end else begin : direct
      assign emit_go = (state == EMIT) && out_tready;
      assign out_tvalid = (state == EMIT);
      assign out_tdata = acc;
    end
  endgenerate
  assign w_en = valid_q;
  assign w_addr = fold_base + j_q;
  assign w_addr2 = fold_base + j_q2;

  generate
    if (ROWS == 2) begin : two
      localparam integer H_BITS = (J_BITS > 1) ? J_BITS - 1 : 1;
      (* ram_style = "distributed" *) reg [J_BITS-1:0] even[0:2*((MW+1)/2)-1];
      (* ram_style = "distributed" *) reg [J_BITS-1:0] odd[0:2*((MW+1)/2)-1];
      qsnn_lowest #(.N(SIMD), .B(S_BITS)) next_spike2 (.bits(rest), .onehot(lowest_bit2), .index(bit_sel2));
      assign rest2 = rest & ~lowest_bit2;
      wire [K_BITS-1:0] count1 = count + 1'b1;
      wire [J_BITS-1:0] j1 = chunk_j + bit_sel, j2 = chunk_j + bit_sel2;
      always @(posedge clk) begin  // position count takes j1, count + 1 takes j2
        if (count[0] ? w2 : w1) even[{count1[H_BITS:1], wb}] <= count[0] ? j2 : j1;
        if (count[0] ? w1 : w2) odd[{count[H_BITS:1], wb}] <= count[0] ? j1 : j2;
        if (walking) begin  // k is even: positions k and k + 1
          j_q <= even[{k[H_BITS:1], rb}];
          j_q2 <= odd[{k[H_BITS:1], rb}];
        end
      end
    end else begin : one
      (* ram_style = "distributed" *) reg [J_BITS-1:0] list[0:2*MW-1];
      assign lowest_bit2 = 0, bit_sel2 = 0, rest2 = 0;
      always @(posedge clk) begin
        if (w1) list[{count[J_BITS-1:0], wb}] <= chunk_j + bit_sel;
        if (walking) j_q <= list[{k[J_BITS-1:0], rb}];
      end
    end
  endgenerate

  genvar p;
  generate
    for (p = 0; p < PE; p = p + 1) begin : lane
      wire signed [ACC_BITS-1:0] w = {{(ACC_BITS - W_BITS) {w_data[p*W_BITS+W_BITS-1]}}, w_data[p*W_BITS+:W_BITS]};
      wire signed [ACC_BITS-1:0] w2 = valid_w2 ?
          {{(ACC_BITS - W_BITS) {w_data2[p*W_BITS+W_BITS-1]}}, w_data2[p*W_BITS+:W_BITS]} : {ACC_BITS{1'b0}};
      always @(posedge clk)
        if (!rst_n || emit_go) acc[p*ACC_BITS+:ACC_BITS] <= 0;
        else if (valid_w) acc[p*ACC_BITS+:ACC_BITS] <= $signed(acc[p*ACC_BITS+:ACC_BITS]) + w + w2;
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      full <= 2'b00;
      wb <= 1'b0;
      count <= 0;
      live <= 1'b0;
      ld_c <= 0;
      chunk_c <= 0;
      ld_j <= 0;
      chunk_j <= 0;
      state <= WAIT;
      rb <= 1'b0;
      nf <= 0;
      fold_base <= 0;
      k <= 0;
      valid_q <= 1'b0;
      valid_w <= 1'b0;
      valid_q2 <= 1'b0;
      valid_w2 <= 1'b0;
    end else begin
      // the lister
      if (live) chunk <= unlisted;
      count <= count + w1 + w2;
      if (closing) begin
        cnt[wb] <= count + w1 + w2;
        wb <= ~wb;
        count <= 0;
      end
      if (accept) begin
        chunk <= in_tdata;
        chunk_c <= ld_c;
        ld_c <= (ld_c == SF - 1) ? 0 : ld_c + 1'b1;
        chunk_j <= ld_j;
        ld_j <= (ld_c == SF - 1) ? 0 : ld_j + SIMD;
        live <= 1'b1;
      end else if (finishing) live <= 1'b0;
      // the banks: the lister closes the one it fills, the walker releases the one it walked (never the same)
      full <= (full | (closing ? (2'b01 << wb) : 2'b00)) & ~(releasing ? (2'b01 << rb) : 2'b00);
      // the walker
      valid_q <= walking;
      valid_w <= valid_q;
      valid_q2 <= walking && (ROWS == 2) && (k + 1'b1 < cnt[rb]);
      valid_w2 <= valid_q2;
      case (state)
        WAIT: if (full[rb]) state <= RUN;
        RUN:  // the list walked (k); the last weight word adds as EMIT begins
        if (walking) k <= k + ROWS;
        else if (!valid_q) state <= EMIT;
        EMIT:
        if (emit_go) begin
          k <= 0;
          if (nf == NF - 1) begin
            nf <= 0;
            fold_base <= 0;
            rb <= ~rb;
            state <= full[~rb] ? RUN : WAIT;  // the next frame's list, if the lister has closed it already
          end else begin
            nf <= nf + 1'b1;
            fold_base <= fold_base + MW;
            state <= RUN;
          end
        end
        default: state <= WAIT;
      endcase
    end
  end

`ifdef QSNN_ACTIVITY
  // Simulation only (see qsnn_synapse): weight rows read (PE * W_BITS bits each), one add per lane each (the
  // accumulators are those adds: no separate accumulator count)
  reg [63:0] act_in = 0, act_wreads = 0, act_out = 0;
  always @(posedge clk)
    if (rst_n) begin
      if (accept) act_in <= act_in + 1;
      if (valid_q) act_wreads <= act_wreads + 1 + valid_q2;
      if (out_tvalid && out_tready) act_out <= act_out + 1;
    end
  final
    $display("qsnn_activity %m synapse in_beats=%0d weight_reads=%0d synops=%0d acc_cycles=%0d out_beats=%0d simd=%0d pe=%0d in_bits=%0d w_bits=%0d acc_bits=%0d",
             act_in, act_wreads, act_wreads * PE, 0, act_out * OUT_LANES / PE, 1, PE, 1, W_BITS, ACC_BITS);
`endif
endmodule

// qsnn-pynq: the lowest set bit of N bits, as a one-hot word (one carry chain: bits & -bits) and its index (OR trees:
// index bit b is set by any one-hot position with bit b set), so the depth grows as log N. 0 for no bit set.
module qsnn_lowest #(
    parameter integer N = 8,
    parameter integer B = 3
) (
    input wire [N-1:0] bits,
    output wire [N-1:0] onehot,
    output wire [B-1:0] index
);
  assign onehot = bits & (~bits + 1'b1);
  genvar b, c;
  generate
    for (b = 0; b < B; b = b + 1) begin : enc
      wire [N-1:0] has;
      for (c = 0; c < N; c = c + 1) begin : m
        assign has[c] = (c >> b) & 1;
      end
      assign index[b] = |(onehot & has);
    end
  endgenerate
endmodule
