package hcisim

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// Whatever a host writes, the controller answers or drops it without
// panicking, and Serve ends when the stream does.
func FuzzHostStream(f *testing.F) {
	h4 := func(pkts ...[]byte) []byte {
		var b []byte
		for _, p := range pkts {
			b = append(b, p...)
		}
		return b
	}
	cmd := func(c []byte) []byte { return append([]byte{byte(hci.PacketCommand)}, c...) }
	acl, _ := hci.AppendH4ACL(nil, 1, hci.PBFirstNonFlushable, 0, l2capPDU(10, 0))
	f.Add(h4(cmd(cmd0(hci.OpReset))))
	f.Add(h4(cmd(cmd0(hci.OpReset)), cmd(hci.SetEventMask{Mask: ^uint64(0)}.AppendCommand(nil)),
		cmd(hci.LESetEventMask{Mask: ^uint64(0)}.AppendCommand(nil)), cmd(createConnection(addrB)),
		cmd(cmd0(hci.OpLECreateConnectionCancel)), acl))
	f.Add(h4(cmd(hci.LESetAdvertisingEnable{Enable: true}.AppendCommand(nil)), cmd(hci.LESetScanEnable{Enable: true}.AppendCommand(nil))))
	f.Add(h4(cmd(cmdRaw(hci.OpLESetPHY, 1)), cmd(cmdRaw(hci.OpLEReadPHY)), cmd(cmdRaw(hci.OpLESetDataLength, 1, 0, 0xFF, 0xFF))))
	f.Add([]byte{byte(hci.PacketACL), 0x01, 0x30, 0x02, 0x00, 0xAA, 0xBB}) // PB 0b11
	f.Add([]byte{byte(hci.PacketCommand), 0x03, 0x0C})                     // truncated
	f.Add([]byte{0x07})

	w := le.New(le.Config{Seed: 1, TimeScale: 0.05, AdvInterval: 20 * time.Millisecond})
	defer w.Close()
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := New(w, Config{Addr: addrA, ACLBuffers: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}
		if err := c.Serve(context.Background(), rw); err == nil {
			t.Fatal("Serve returned nil at the end of the stream")
		}
	})
}
