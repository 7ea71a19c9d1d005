package borderrouter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/lowpanbr/lowpanbr/sim"
)

// The simulator's run-time controls, to rehearse failures on a running
// border router: cut and restore links, set their loss, add, remove and
// restart nodes (the RCP's faults are InjectRCPFault). Each is logged at
// Info with "simulator: …" and the names involved, which the web page
// shows as events. "br" names the border router's radio in link
// commands. On real radios each returns ErrNoSimulation.
//
//	POST   /api/v1/sim/links/{a}/{b}/cut        SimCutLink
//	POST   /api/v1/sim/links/{a}/{b}/restore    SimRestoreLink
//	POST   /api/v1/sim/links/{a}/{b}/loss?p=P   SimSetLoss (one link, both ways)
//	POST   /api/v1/sim/loss?p=P                 SimSetLoss("", "", P): every link
//	POST   /api/v1/sim/nodes[?near=NAME]        SimAddNode → {"name": "n11"}
//	DELETE /api/v1/sim/nodes/{name}             SimRemoveNode
//	POST   /api/v1/sim/nodes/{name}/restart     SimRestartNode
//	GET    /api/v1/topology                     Topology

// simControlTimeout bounds the wait for a node to stop (remove, restart).
const simControlTimeout = 10 * time.Second

// controlMesh is the simulated 802.15.4 mesh the controls act on.
func (b *BorderRouter) controlMesh() (*sim.Mesh, error) {
	if m := b.simMesh(); m != nil {
		return m, nil
	}
	if b.rcpSim == nil && b.otBridge == nil {
		return nil, ErrNoSimulation
	}
	return nil, fmt.Errorf("%w: the simulated mesh is not running yet", ErrNoSimulation)
}

// simErr makes a sim error one the API and the page can branch on: an
// unknown node is also ErrNoSuchNode; its text stays the simulator's.
func simErr(err error) error {
	if errors.Is(err, sim.ErrUnknownNode) && !errors.Is(err, ErrNoSuchNode) {
		return unknownSimNode{err}
	}
	return err
}

// unknownSimNode is a sim.ErrUnknownNode that is also ErrNoSuchNode.
type unknownSimNode struct{ err error }

func (e unknownSimNode) Error() string   { return e.err.Error() }
func (e unknownSimNode) Unwrap() []error { return []error{e.err, ErrNoSuchNode} }

// SimCutLink cuts the simulated link between nodes a and b, both ways.
func (b *BorderRouter) SimCutLink(a, c string) error {
	m, err := b.controlMesh()
	if err != nil {
		return err
	}
	if err := m.CutLink(a, c); err != nil {
		return simErr(err)
	}
	b.log.Info("simulator: link cut", "a", a, "b", c)
	return nil
}

// SimRestoreLink puts back the simulated link between a and b as placed,
// with the loss in force.
func (b *BorderRouter) SimRestoreLink(a, c string) error {
	m, err := b.controlMesh()
	if err != nil {
		return err
	}
	if err := m.RestoreLink(a, c); err != nil {
		return simErr(err)
	}
	b.log.Info("simulator: link restored", "a", a, "b", c)
	return nil
}

// SimSetLoss sets the frame loss probability of the link between a and b,
// both ways; with a and b both "", of every link (and of nodes added
// later), replacing the losses set on single links.
func (b *BorderRouter) SimSetLoss(a, c string, loss float64) error {
	m, err := b.controlMesh()
	if err != nil {
		return err
	}
	if a == "" && c == "" {
		if err := m.SetLossAll(loss); err != nil {
			return simErr(err)
		}
		b.log.Info("simulator: loss set on every link", "loss", loss)
		return nil
	}
	if err := m.SetLoss(a, c, loss); err != nil {
		return simErr(err)
	}
	b.log.Info("simulator: link loss set", "a", a, "b", c, "loss", loss)
	return nil
}

// SimAddNode adds a node to the simulated mesh, in range of the node near
// ("" for anywhere in range of the mesh), and returns its name.
func (b *BorderRouter) SimAddNode(near string) (string, error) {
	m, err := b.controlMesh()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), simControlTimeout)
	defer cancel()
	n, err := m.AddNode(ctx, near)
	if err != nil {
		return "", simErr(err)
	}
	b.log.Info("simulator: node added", "node", n.Name(), "near", near, "role", n.Config().Role.String())
	return n.Name(), nil
}

// SimRemoveNode switches the simulated node off and takes it out of the
// mesh; its registration stays until it expires, as a dead device's.
func (b *BorderRouter) SimRemoveNode(name string) error {
	m, err := b.controlMesh()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), simControlTimeout)
	defer cancel()
	if err := m.RemoveNode(ctx, name); err != nil {
		return simErr(err)
	}
	b.log.Info("simulator: node removed", "node", name)
	return nil
}

// SimRestartNode reboots the simulated node: it loses its state and comes
// back with the same name and EUI-64, and registers again.
func (b *BorderRouter) SimRestartNode(name string) error {
	m, err := b.controlMesh()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), simControlTimeout)
	defer cancel()
	if _, err := m.RestartNode(ctx, name); err != nil {
		return simErr(err)
	}
	b.log.Info("simulator: node restarted", "node", name)
	return nil
}

// simHTTPError answers a control's error with the status its kind calls
// for.
func simHTTPError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNoSimulation), errors.Is(err, sim.ErrMeshFull), errors.Is(err, sim.ErrMeshStopped):
		code = http.StatusConflict
	case errors.Is(err, ErrNoSuchNode):
		code = http.StatusNotFound
	case errors.Is(err, sim.ErrNotInRange), errors.Is(err, sim.ErrBadLoss), errors.Is(err, sim.ErrBorderRouter):
		code = http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusGatewayTimeout
	}
	http.Error(w, err.Error(), code)
}

// lossParam reads ?p=, a probability.
func lossParam(r *http.Request) (float64, error) {
	s := r.URL.Query().Get("p")
	p, err := strconv.ParseFloat(s, 64)
	if s == "" || err != nil || math.IsNaN(p) || p < 0 || p > 1 {
		return 0, fmt.Errorf("want ?p=PROBABILITY, 0 to 1 (got %q)", s)
	}
	return p, nil
}

// simControlRoutes adds the simulator's run-time controls and the
// topology to the status API.
func (b *BorderRouter) simControlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/topology", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, b.Topology()) })
	link := func(verb string, do func(a, c string) error) {
		mux.HandleFunc("POST /api/v1/sim/links/{a}/{b}/"+verb, func(w http.ResponseWriter, r *http.Request) {
			a, c := r.PathValue("a"), r.PathValue("b")
			if err := do(a, c); err != nil {
				simHTTPError(w, err)
				return
			}
			writeJSON(w, map[string]string{"a": a, "b": c, "link": verb})
		})
	}
	link("cut", b.SimCutLink)
	link("restore", b.SimRestoreLink)
	mux.HandleFunc("POST /api/v1/sim/links/{a}/{b}/loss", func(w http.ResponseWriter, r *http.Request) {
		p, err := lossParam(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a, c := r.PathValue("a"), r.PathValue("b")
		if err := b.SimSetLoss(a, c, p); err != nil {
			simHTTPError(w, err)
			return
		}
		writeJSON(w, map[string]any{"a": a, "b": c, "loss": p})
	})
	mux.HandleFunc("POST /api/v1/sim/loss", func(w http.ResponseWriter, r *http.Request) {
		p, err := lossParam(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := b.SimSetLoss("", "", p); err != nil {
			simHTTPError(w, err)
			return
		}
		writeJSON(w, map[string]any{"loss": p})
	})
	mux.HandleFunc("POST /api/v1/sim/nodes", func(w http.ResponseWriter, r *http.Request) {
		name, err := b.SimAddNode(r.URL.Query().Get("near"))
		if err != nil {
			simHTTPError(w, err)
			return
		}
		writeJSON(w, map[string]string{"name": name})
	})
	mux.HandleFunc("DELETE /api/v1/sim/nodes/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := b.SimRemoveNode(name); err != nil {
			simHTTPError(w, err)
			return
		}
		writeJSON(w, map[string]string{"removed": name})
	})
	mux.HandleFunc("POST /api/v1/sim/nodes/{name}/restart", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := b.SimRestartNode(name); err != nil {
			simHTTPError(w, err)
			return
		}
		writeJSON(w, map[string]string{"restarted": name})
	})
}
