package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Any body, Host and Origin: no panic, and an action reaches the Source
// only with the token, a literal Host and no foreign Origin.
func FuzzControl(f *testing.F) {
	const token = "abc123"
	f.Add(`{"action":"cut","a":"br","b":"n1"}`, "127.0.0.1:9580", "", token)
	f.Add(`{"action":"loss","loss":1e309}`, "[::1]:1", "http://[::1]:1", token)
	f.Add(`{"action":"add","node":"\u0000"}`, "localhost", "null", "")
	f.Add(`[`, "evil.example", "http://evil.example", token)
	f.Add(strings.Repeat(`{"a":`, 1000), "127.0.0.1", "", token)
	f.Fuzz(func(t *testing.T, body, host, origin, tok string) {
		src := &fakeSource{}
		s, err := New(Config{Source: src, Controls: true, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/api/control", strings.NewReader(body))
		r.Host = host
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		r.Header.Set(TokenHeader, tok)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if len(src.actions) > 0 && (tok != token || CheckHost(host) != nil || checkOrigin(r) != nil) {
			t.Fatalf("action %+v reached the source: token %q host %q origin %q", src.actions, tok, host, origin)
		}
		if w.Code == http.StatusOK && len(src.actions) != 1 {
			t.Fatalf("200 without an action")
		}
	})
}
