package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Errors of the request checks.
var (
	// ErrHost: the Host header names neither an IP address nor localhost.
	ErrHost = errors.New("web: Host is not an IP address or localhost")
	// ErrOrigin: a POST from a page of another origin.
	ErrOrigin = errors.New("web: cross-origin request")
	// ErrToken: no token, or not the token.
	ErrToken = errors.New("web: missing or wrong " + TokenHeader)
)

// guard refuses what the page must never answer: a Host that is a DNS
// name (DNS rebinding: a hostile page whose name resolves to 127.0.0.1
// is same-origin with itself, not with us, and its requests carry its own
// name), a POST from another origin, and anything once the server is
// closed.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkHost(r.Host); err != nil {
			http.Error(w, err.Error()+"; open the page by address (lowpanbr web prints it)", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := checkOrigin(r); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		}
		select {
		case <-s.done:
			http.Error(w, "web: shutting down", http.StatusServiceUnavailable)
			return
		default:
		}
		h.ServeHTTP(w, r)
	})
}

// checkHost is CheckHost, and also accepts the names of Config.Hosts.
func (s *Server) checkHost(host string) error {
	err := CheckHost(host)
	if err == nil || len(s.cfg.Hosts) == 0 {
		return err
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	for _, name := range s.cfg.Hosts {
		if name != "" && strings.EqualFold(strings.TrimSuffix(h, "."), name) {
			return nil
		}
	}
	return err
}

// CheckHost accepts a Host header (RFC 9110 §7.2) naming an IP literal or
// localhost, with or without a port.
func CheckHost(host string) error {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return nil
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Zone() == "" {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrHost, host)
}

// checkOrigin: a browser names the page a request comes from in Origin
// (RFC 6454 §7) and, in Sec-Fetch-Site, whether it is another site's
// (W3C Fetch Metadata); either saying "elsewhere" refuses it. A request
// with neither (curl, a script) is let through to the token check.
func checkOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("%w: Sec-Fetch-Site %s", ErrOrigin, site)
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("%w: Origin %q is not http://%s", ErrOrigin, o, r.Host)
	}
	return nil
}

// checkToken compares the request's token with ours in constant time.
func (s *Server) checkToken(r *http.Request) error {
	got := r.Header.Get(TokenHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		return ErrToken
	}
	return nil
}
