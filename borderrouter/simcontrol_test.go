package borderrouter

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lowpanbr/lowpanbr/sim"
)

// On real radios every control says so.
func TestSimControlsNeedTheSimulator(t *testing.T) {
	b := &BorderRouter{}
	for name, err := range map[string]error{
		"cut":     b.SimCutLink("n1", "n2"),
		"restore": b.SimRestoreLink("n1", "n2"),
		"loss":    b.SimSetLoss("", "", 0.1),
		"remove":  b.SimRemoveNode("n1"),
		"restart": b.SimRestartNode("n1"),
	} {
		if !errors.Is(err, ErrNoSimulation) {
			t.Errorf("%s: %v, want ErrNoSimulation", name, err)
		}
	}
	if _, err := b.SimAddNode(""); !errors.Is(err, ErrNoSimulation) {
		t.Errorf("add: %v, want ErrNoSimulation", err)
	}
}

// Each kind of error gets its own status, an unknown node 404 whichever
// package said so.
func TestSimHTTPError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{ErrNoSimulation, http.StatusConflict},
		{simErr(fmt.Errorf("x: %w", sim.ErrUnknownNode)), http.StatusNotFound},
		{fmt.Errorf("link: %w", sim.ErrNotInRange), http.StatusBadRequest},
		{sim.ErrBadLoss, http.StatusBadRequest},
		{sim.ErrBorderRouter, http.StatusBadRequest},
		{sim.ErrMeshFull, http.StatusConflict},
		{errors.New("other"), http.StatusInternalServerError},
	} {
		w := httptest.NewRecorder()
		simHTTPError(w, c.err)
		if w.Code != c.want {
			t.Errorf("%v: %d, want %d", c.err, w.Code, c.want)
		}
	}
	if !errors.Is(simErr(sim.ErrUnknownNode), ErrNoSuchNode) {
		t.Error("an unknown sim node is not ErrNoSuchNode")
	}
}

// Hops follow the chain of parents to the border router; a chain that
// does not reach it (unknown parent, loop) leaves 0.
func TestSetHops(t *testing.T) {
	nodes := []TopoNode{{ID: "n3", Parent: "n2"}, {ID: "n1", Parent: "br"}, {ID: "n2", Parent: "n1"},
		{ID: "n4", Parent: "n9"}, {ID: "n5", Parent: "n6"}, {ID: "n6", Parent: "n5"}, {ID: "n7"}}
	setHops(nodes)
	got := map[string]int{}
	for _, n := range nodes {
		got[n.ID] = n.Hops
	}
	want := map[string]int{"n1": 1, "n2": 2, "n3": 3, "n4": 0, "n5": 0, "n6": 0, "n7": 0}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("hops (-want +got):\n%s", d)
	}
}
