package rawfile_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/rawfile"
)

func pipe(t *testing.T) (*rawfile.File, *rawfile.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rr, rw := rawfile.New(r), rawfile.New(w)
	t.Cleanup(func() { rr.Close(); rw.Close() })
	return rr, rw
}

func TestReadWrite(t *testing.T) {
	r, w := pipe(t)
	// More than a pipe holds (64 KiB): Write parks until the reader
	// drains it and still writes everything.
	want := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)
	errc := make(chan error, 1)
	go func() {
		n, err := w.Write(want)
		if err == nil && n != len(want) {
			err = errors.New("short write")
		}
		errc <- err
		w.Close()
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d octets, want %d the same", len(got), len(want))
	}
	// The writer closed: end of file.
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read after the writer closed = %d, %v; want 0, io.EOF", n, err)
	}
}

func TestDeadline(t *testing.T) {
	r, _ := pipe(t)
	r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	start := time.Now()
	_, err := r.Read(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the deadline took %v", d)
	}
}

func TestCloseWakesRead(t *testing.T) {
	r, _ := pipe(t)
	errc := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 8))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // parked in the poller
	r.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("parked Read after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a parked Read")
	}
	if _, err := r.Read(make([]byte, 8)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v, want os.ErrClosed", err)
	}
}

func TestRegularFileFallsBack(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	rf := rawfile.New(f)
	defer rf.Close()
	if _, err := rf.Write([]byte("hello")); err != nil {
		t.Fatalf("Write to a regular file: %v", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rf)
	if err != nil || string(got) != "hello" {
		t.Fatalf("read back %q, %v", got, err)
	}
}

func TestNoAllocs(t *testing.T) {
	r, w := pipe(t)
	msg, buf := []byte("spinel frame"), make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := w.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per write and read, want 0", allocs)
	}
}

func BenchmarkPipeRoundTrip(b *testing.B) {
	r, w := func() (*rawfile.File, *rawfile.File) {
		pr, pw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		return rawfile.New(pr), rawfile.New(pw)
	}()
	defer r.Close()
	defer w.Close()
	msg, buf := make([]byte, 140), make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		w.Write(msg)
		r.Read(buf)
	}
}
