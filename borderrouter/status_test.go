package borderrouter

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/jsontest"
)

// snakeName is a JSON name of the status API.
var snakeName = jsontest.SnakeCase

// checkJSONFields walks t's fields as encoding/json sees them and reports
// every exported one without a snake_case name of its own, and every
// time.Duration (encoding/json writes nanoseconds). Types with their own
// MarshalJSON or MarshalText are trusted.
func checkJSONFields(t *testing.T, typ reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
		if typ.Kind() == reflect.Map && typ.Key().Kind() != reflect.String {
			t.Errorf("%s: a map keyed by %v", path, typ.Key())
		}
		typ = typ.Elem()
	}
	if typ == reflect.TypeFor[time.Duration]() {
		t.Errorf("%s: a time.Duration is written in nanoseconds; serve seconds, named so", path)
		return
	}
	if typ.Kind() != reflect.Struct || seen[typ] {
		return
	}
	if typ.Implements(reflect.TypeFor[json.Marshaler]()) || reflect.PointerTo(typ).Implements(reflect.TypeFor[json.Marshaler]()) {
		return
	}
	seen[typ] = true
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		where := path + "." + f.Name + " (" + typ.String() + ")"
		switch {
		case name == "-":
			continue
		case name == "" || !snakeName.MatchString(name):
			t.Errorf("%s: JSON name %q, want snake_case of its own", where, name)
		case strings.HasSuffix(name, "_ns") || name == "uptime" || strings.HasSuffix(name, "expires_in") || name == "last_heard":
			t.Errorf("%s: JSON name %q: a duration says its unit (_seconds)", where, name)
		}
		checkJSONFields(t, f.Type, path+"."+name, seen)
	}
}

// TestStatusJSONNames: every type the status API serves has snake_case
// names (with units) all the way down, including the library types it
// embeds (router, link, nd, rcp, spinel, rpl, ble, lowpan counters).
func TestStatusJSONNames(t *testing.T) {
	seen := map[reflect.Type]bool{}
	for _, v := range []any{Status{}, Registration{}, Route{}, SimNode{}} {
		checkJSONFields(t, reflect.TypeOf(v), reflect.TypeOf(v).Name(), seen)
	}
	if len(seen) < 15 {
		t.Errorf("walked %d struct types: the walk missed some", len(seen))
	}
}

// TestStatusJSONKeys encodes a Status with every optional part present and
// checks the keys of what goes on the wire, and that the durations are
// numbers.
func TestStatusJSONKeys(t *testing.T) {
	exp := int64(30)
	st := Status{UptimeSeconds: 3723, RPL: &RPLStatus{DIOIntervalSeconds: 8.192}, BLE: &BLEStatus{Channels: []BLEChannel{{}}},
		Neighbors: []Neighbor{{LastHeardSeconds: 1.5}}, Contexts: []Context{{}}}
	st.ND.Received = map[string]uint64{"rs": 1, "ns_ignored": 2}
	st.ND.StatusReplies = map[string]uint64{"neighbor_cache_full": 1}
	for _, v := range []any{st, []Registration{{LifetimeSeconds: 600, ExpiresInSeconds: 599}}, []Route{{ExpiresInSeconds: &exp}}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if p := jsontest.NotSnakeCase(doc, ""); len(p) > 0 {
			t.Errorf("keys not snake_case: %v\n%s", p, b)
		}
	}
	b, _ := json.Marshal(st)
	var got struct {
		Uptime    any `json:"uptime_seconds"`
		Neighbors []struct {
			LastHeard any `json:"last_heard_seconds"`
		} `json:"neighbors"`
		RPL struct {
			DIO any `json:"dio_interval_seconds"`
		} `json:"rpl"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Uptime != 3723.0 || got.Neighbors[0].LastHeard != 1.5 || got.RPL.DIO != 8.192 {
		t.Errorf("durations: uptime_seconds %#v, last_heard_seconds %#v, dio_interval_seconds %#v, want numbers", got.Uptime, got.Neighbors[0].LastHeard, got.RPL.DIO)
	}
}
