package jsontest

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestNotSnakeCase(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"ok_key":1,"TxSent":2,"list":[{"bad-key":3,"fine":4}],"nested":{"uptime_seconds":5,"Inner":{}}}`), &v); err != nil {
		t.Fatal(err)
	}
	got := NotSnakeCase(v, "$")
	slices.Sort(got)
	want := []string{"$.TxSent", "$.list[].bad-key", "$.nested.Inner"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
