package transport

import (
	"context"
	"fmt"
	"log/slog"
)

// Open opens the transport a radio URL names:
//
//   - spinel+hdlc+uart: OpenUART on the path, or on the one dongle
//     auto-detection finds when the path is "auto"; Conn.Stream is a *Port.
//   - spinel+hdlc+forkpty: ForkPTY of the program with the forkpty-arg
//     arguments; Conn.Stream is a *Child.
//   - spinel+spi: OpenSPI; Conn.Frames is an *SPI.
//
// ctx bounds opening; for forkpty it also bounds the child's life
// (cancelling it kills the child). The caller owns the returned Conn and
// must Close it. logger may be nil.
func Open(ctx context.Context, u *URL, logger *slog.Logger) (Conn, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return Conn{}, fmt.Errorf("open %s: %w", u, err)
	}
	switch u.Scheme {
	case SchemeUART:
		path := u.Path
		if u.Auto() {
			d, err := autoDevice()
			if err != nil {
				return Conn{}, err
			}
			logger.Info("radio auto-detected", "dongle", d.String())
			path = d.Path
		}
		p, err := OpenUART(path, u.UART)
		if err != nil {
			return Conn{}, err
		}
		return Conn{Stream: p}, nil
	case SchemeForkPTY:
		c, err := ForkPTY(ctx, u.Path, u.Args, logger)
		if err != nil {
			return Conn{}, err
		}
		return Conn{Stream: c}, nil
	case SchemeSPI:
		s, err := OpenSPI(u.Path, u.SPI, logger)
		if err != nil {
			return Conn{}, err
		}
		return Conn{Frames: s}, nil
	}
	return Conn{}, &URLError{URL: u.String(), Msg: fmt.Sprintf("unknown scheme %q; accepted: %s", u.Scheme, schemeList())}
}
