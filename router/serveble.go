package router

import (
	"context"
	"log/slog"

	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
)

// BLEChannel is an open IPSP channel as a BLE host hands it out.
type BLEChannel interface {
	link.SDUChannel
	PeerCanonical() [6]byte
	LocalCanonical() [6]byte
	Done() <-chan struct{}
}

// ServeBLE adds a BLE link to the forwarder for every channel that opens,
// until ctx ends; each link leaves the forwarder when its channel closes
// (its Run returns). The 6LBR's registry tells the codec which addresses
// its nodes registered (RFC 7668 §3.2.4 elision).
func ServeBLE[C BLEChannel](ctx context.Context, f *Forwarder, channels <-chan C, contexts *lowpan.ContextTable, tap link.Tap, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for {
		var ch C
		select {
		case <-ctx.Done():
			return
		case ch = <-channels:
		}
		link, err := link.NewBLE(link.BLEConfig{Channel: ch, Local: ch.LocalCanonical(), Peer: ch.PeerCanonical(),
			Contexts: contexts, Registered: f.reg, Tap: tap, Logger: log})
		if err != nil {
			log.Warn("BLE link", "err", err)
			continue
		}
		if _, err := f.AddLink(link); err != nil {
			log.Warn("BLE link", "err", err)
		}
	}
}
