//go:build !linux

package otsim

import (
	"context"
	"errors"
)

func openLink(context.Context, int, int) (link, error) {
	return nil, errors.New("otsim: OpenThread's UDP medium is only set up on Linux")
}
