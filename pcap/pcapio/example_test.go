package pcapio_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"time"

	"github.com/lowpanbr/lowpanbr/pcap/pcapio"
)

// Read a capture of ZEP over UDP and print the 802.15.4 frames it carries.
func ExampleReader() {
	f, err := os.Open("testdata/gen_zep.pcap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r, err := pcapio.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	var z pcapio.ZEP
	for i := 0; ; i++ {
		p, err := r.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		u, err := pcapio.ExtractUDP(p.LinkType, p.Data)
		if err != nil || u.Dst.Port() != pcapio.ZEPPort || z.Decode(u.Payload) != nil {
			continue
		}
		if i < 2 {
			fmt.Printf("seq %d channel %d FCS %t: %d-byte frame\n", z.Seq, z.Channel, z.HasFCS(), len(z.PSDU))
		}
	}
	// Output:
	// seq 0 channel 11 FCS true: 45-byte frame
	// seq 1 channel 11 FCS true: 52-byte frame
}

// Write a ZEP-in-Ethernet capture that Wireshark decodes as 802.15.4.
func ExampleAppendZEP() {
	var file bytes.Buffer
	w, err := pcapio.NewWriter(&file, pcapio.LinkTypeEthernet)
	if err != nil {
		log.Fatal(err)
	}
	hub := netip.MustParseAddrPort("127.0.0.1:17754")
	psdu := []byte{0x41, 0xc8, 0x00, 0xff, 0xff, 0xff, 0xff, 0x61, 0x8d} // FCS 0x8d61, little-endian
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	z := pcapio.ZEP{Type: pcapio.ZEPTypeData, Channel: 26, LQIMode: true, Timestamp: ts, PSDU: psdu}
	frame := pcapio.AppendEthernetIPv4UDP(nil, hub, hub, pcapio.AppendZEP(nil, &z))
	if err := w.WritePacket(ts, frame); err != nil {
		log.Fatal(err)
	}
	fmt.Println(file.Len(), "bytes")
	// Output: 123 bytes
}

func ExampleExtractUDP() {
	arp := make([]byte, 42)
	arp[12], arp[13] = 0x08, 0x06
	_, err := pcapio.ExtractUDP(pcapio.LinkTypeEthernet, arp)
	fmt.Println(err == pcapio.ErrNotUDP, errors.Is(err, pcapio.ErrMalformed))
	// Output: true false
}
