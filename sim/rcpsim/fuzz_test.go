package rcpsim

import (
	"context"
	"io"
	"testing"

	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// FuzzHostFrame feeds arbitrary Spinel frames from the host to a simulated
// RCP whose radio is on and raw stream enabled: whatever a host (or a
// garbled line) sends, the RCP answers or counts it bad, and never panics
// or hangs.
func FuzzHostFrame(f *testing.F) {
	for _, seed := range [][]byte{
		spinel.AppendFrameHeader(nil, 0, 1, spinel.CmdPropValueGet, spinel.PropCaps),
		append(spinel.AppendFrameHeader(nil, 0, 2, spinel.CmdPropValueSet, spinel.PropPHYChan), 15),
		spinel.AppendTxRequest(spinel.AppendFrameHeader(nil, 0, 3, spinel.CmdPropValueSet, spinel.PropStreamRaw),
			&spinel.TxRequest{PSDU: []byte{0x41, 0xd8, 1, 0xce, 0xfa, 0xff, 0xff, 2, 0, 0, 0}, Channel: 15, RxChannelAfterTx: 15}),
		append(spinel.AppendFrameHeader(nil, 0, 4, spinel.CmdPropValueInsert, spinel.PropMACSrcMatchShortAddresses), 1, 2),
		append(spinel.AppendFrameHeader(nil, 0, 5, spinel.CmdPropValueSet, spinel.PropMACScanState), spinel.ScanStateEnergy),
		{0x81, 0x01, 0x02},
		{0x80},
		{},
	} {
		f.Add(seed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	m := medium.New(medium.Config{Seed: 5})
	go m.Run(ctx)
	f.Cleanup(func() { m.Close() })
	node, err := m.Attach(medium.NodeConfig{Name: "rcp", Channel: 11})
	if err != nil {
		f.Fatal(err)
	}
	r := New(node, Config{EUI64: testEUI})
	r.wmu.Lock()
	r.w = io.Discard
	r.wmu.Unlock()
	go r.reportTransmissions(ctx) // as Serve does
	on := func() {
		r.handle(ctx, append(spinel.AppendFrameHeader(nil, 0, 6, spinel.CmdPropValueSet, spinel.PropPHYEnabled), 1))
		r.handle(ctx, append(spinel.AppendFrameHeader(nil, 0, 7, spinel.CmdPropValueSet, spinel.PropMACRawStreamEnabled), 1))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		on() // a RESET among the inputs turns the radio off
		r.handle(ctx, b)
	})
}
