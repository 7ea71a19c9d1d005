package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsServer serves /metrics (Prometheus), /healthz (the process
// answers) and /readyz (the radio is initialised and the TUN is up).
type metricsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

func startMetrics(d *daemon, listen string) (*metricsServer, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.Registry, promhttp.HandlerOpts{ErrorLog: nil}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := d.ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	s := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Warn("metrics server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is where the server listens (useful with port 0).
func (s *metricsServer) Addr() string { return s.ln.Addr().String() }

func (s *metricsServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// ready says why the border router cannot carry traffic, if it cannot.
func (d *daemon) ready() error {
	if !d.driver.Ready() {
		return errors.New("the radio is not initialised (RCP down or reconnecting)")
	}
	ifc, err := net.InterfaceByName(d.tun.Name())
	if err != nil {
		return fmt.Errorf("TUN %s: %w", d.tun.Name(), err)
	}
	if ifc.Flags&net.FlagUp == 0 {
		return fmt.Errorf("TUN %s is down", d.tun.Name())
	}
	return nil
}
