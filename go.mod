module github.com/lowpanbr/lowpanbr

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	go.bug.st/serial v1.8.0
	golang.org/x/sys v0.49.0
)
