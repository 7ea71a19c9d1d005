package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/lowpan"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/router"
	"github.com/lowpanbr/lowpanbr/rpl"
	"github.com/lowpanbr/lowpanbr/spinel"
)

type fakeLink struct{}

func (fakeLink) Name() string { return "wpan0" }
func (fakeLink) Stats() link.LowpanStats {
	return link.LowpanStats{FramesSent: 20, TxAcked: 12, TxNoAck: 3, TxCCA: 2, TxErrors: 1, TxRetries: 2, BytesSent: 1500,
		FragmentsSent: 13, HeaderBytesSaved: 77, Reassembly: lowpan.ReassemblyStats{Fragments: 9, Completed: 1, TimedOut: 2, Evicted: 5, EvictedRegistered: 1}}
}
func (fakeLink) Neighbors() []link.Neighbor {
	return []link.Neighbor{{Addr: lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 1, 1}), RSSI: -67, LQI: 180, Frames: 4, LastHeard: time.Now()}}
}

func (fakeLink) QueueStats() link.QueueStats {
	return link.QueueStats{Enqueued: 40, DroppedFull: 4, DroppedExpired: 1, Queued: 6}
}

type fakeRCP struct{}

func (fakeRCP) Stats() rcp.Stats {
	return rcp.Stats{Up: true, Resets: 1, Reconnects: 2, Probes: 4, ProbesFailed: 1,
		Spinel: spinel.ClientStats{TxResent: 5, Late: 2, Timeouts: 1, HDLC: spinel.HDLCStats{BadFCS: 7}}}
}
func (fakeRCP) QueueDepth() int { return 3 }

type fakeForwarder struct{}

func (fakeForwarder) Stats() router.ForwarderStats {
	return router.ForwarderStats{FromTUN: 5, ToTUN: 4, ToMesh: 5, ICMPUnreachableSent: 1,
		NDFromNeighbors: 11, NDFromStrangers: 12, NDDroppedQueueFull: 13, NDDroppedRateLimited: 14, NDDroppedBudget: 15,
		SourceUnregistered: 16, SourceLinkLocalMismatch: 17, SourceInvalid: 18}
}

func (fakeForwarder) RPL() (router.RPLStats, bool) {
	return router.RPLStats{Targets: 41, Version: 240, QueueDropped: 42, SourceRouted: 43, RankErrors: 44,
		Root: rpl.RootCounters{DAO: 45, DIOsSent: 46, TargetsExpired: 47, DroppedOwner: 48}}, true
}

// fakeND is a real 6LBR whose counters say what the test wants.
type fakeND struct {
	*nd.Router
	cn nd.Counters
}

func (f fakeND) Counters() nd.Counters { return f.cn }

// The families, scraped over real HTTP in the text format, with the
// values the components report; and the collector passes client_golang's
// naming lint.
func TestScrape(t *testing.T) {
	ndr, err := nd.New(nd.Config{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), LinkLocal: netip.MustParseAddr("fe80::1"),
		Global: netip.MustParseAddr("2001:db8:1::1"), ContextChangeDelay: -1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rovr, _ := nd.MakeROVR([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	ndr.Registry().Register(nd.Request{Addr: netip.MustParseAddr("2001:db8:1::42"), ROVR: rovr, Lifetime: 10,
		LinkAddr: lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, 0x42})}, time.Now())
	// A proven registration is protected and established at once; the one
	// above stays tentative for the confirmation period.
	rovr2, _ := nd.MakeROVR([]byte{9, 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8})
	ndr.Registry().Register(nd.Request{Addr: netip.MustParseAddr("2001:db8:1::43"), ROVR: rovr2, Lifetime: 10, Proven: true,
		LinkAddr: lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 0, 0x43})}, time.Now())
	cn := ndr.Counters()
	cn.Refused[nd.RefusedNeighbor], cn.Refused[nd.RefusedLink], cn.Refused[nd.RefusedCapacity], cn.Evicted = 21, 22, 23, 24
	cn.APND = nd.APNDCounters{Legacy: 31, Challenges: 32, Proven: 33, Failed: 34, Refused: 35, Evicted: 36, Expired: 37}
	cn.APNDPending = 38
	m := New("test")
	src := Sources{Links: []Link{fakeLink{}}, RCP: fakeRCP{}, Forwarder: fakeForwarder{}, ND: fakeND{ndr, cn}}
	if err := m.Register(src); err != nil {
		t.Fatal(err)
	}
	m.TxLatency.Observe(0.004)
	problems, err := testutil.CollectAndLint(newCollector(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`lowpanbr_radio_frames_sent_total{link="wpan0",result="acked"} 12`,
		`lowpanbr_radio_frames_sent_total{link="wpan0",result="no_ack"} 3`,
		`lowpanbr_radio_frames_sent_total{link="wpan0",result="cca_failure"} 2`,
		`lowpanbr_radio_frames_sent_total{link="wpan0",result="broadcast"} 2`,
		`lowpanbr_radio_tx_retries_total{link="wpan0"} 2`,
		`lowpanbr_radio_bytes_sent_total{link="wpan0"} 1500`,
		`lowpanbr_radio_tx_queue_depth 3`,
		`lowpanbr_link_tx_queue_packets{link="wpan0"} 6`,
		`lowpanbr_link_tx_queue_drops_total{link="wpan0",reason="queue_full"} 4`,
		`lowpanbr_link_tx_queue_drops_total{link="wpan0",reason="expired"} 1`,
		`lowpanbr_link_tx_queue_drops_total{link="wpan0",reason="stopped"} 0`,
		`lowpanbr_radio_up 1`,
		`lowpanbr_rpl_targets 41`,
		`lowpanbr_rpl_dodag_version 240`,
		`lowpanbr_rpl_dropped_total{reason="queue_full"} 42`,
		`lowpanbr_rpl_dropped_total{reason="owner"} 48`,
		`lowpanbr_rpl_data_packets_total{action="source_routed"} 43`,
		`lowpanbr_rpl_data_errors_total{kind="rank"} 44`,
		`lowpanbr_rpl_messages_received_total{type="dao"} 45`,
		`lowpanbr_rpl_messages_sent_total{type="dio"} 46`,
		`lowpanbr_rpl_target_events_total{event="expired"} 47`,
		`lowpanbr_rcp_resets_total 1`,
		`lowpanbr_rcp_reconnects_total 2`,
		`lowpanbr_spinel_errors_total{kind="hdlc_bad_fcs"} 7`,
		`lowpanbr_spinel_errors_total{kind="spinel_late"} 2`,
		`lowpanbr_spinel_errors_total{kind="spinel_timeout"} 1`,
		`lowpanbr_rcp_tx_resent_total 5`,
		`lowpanbr_rcp_probes_total{result="alive"} 3`,
		`lowpanbr_rcp_probes_total{result="failed"} 1`,
		`lowpanbr_lowpan_header_bytes_saved_total{link="wpan0"} 77`,
		`lowpanbr_lowpan_fragments_sent_total{link="wpan0"} 13`,
		`lowpanbr_lowpan_fragments_received_total{link="wpan0"} 9`,
		`lowpanbr_lowpan_reassemblies_total{link="wpan0",outcome="timed_out"} 2`,
		`lowpanbr_tun_packets_total{direction="rx"} 5`,
		`lowpanbr_icmpv6_errors_sent_total{type="unreachable"} 1`,
		`lowpanbr_nd_registrations{path="direct"} 2`,
		`lowpanbr_nd_registrations{path="via_6lr"} 0`,
		`lowpanbr_nd_registry_capacity 10000`,
		`lowpanbr_nd_registration_outcomes_total{status="duplicate"} 0`,
		`lowpanbr_lowpan_reassembly_evicted_registered_total{link="wpan0"} 1`,
		`lowpanbr_nd_control_admitted_total{class="neighbor"} 11`,
		`lowpanbr_nd_control_admitted_total{class="stranger"} 12`,
		`lowpanbr_nd_control_dropped_total{reason="queue_full"} 13`,
		`lowpanbr_nd_control_dropped_total{reason="rate_limited"} 14`,
		`lowpanbr_nd_control_dropped_total{reason="budget"} 15`,
		`lowpanbr_forwarder_source_rejected_total{reason="unregistered"} 16`,
		`lowpanbr_forwarder_source_rejected_total{reason="link_local_mismatch"} 17`,
		`lowpanbr_forwarder_source_rejected_total{reason="invalid"} 18`,
		`lowpanbr_nd_registrations_refused_total{reason="neighbor_quota"} 21`,
		`lowpanbr_nd_registrations_refused_total{reason="link_quota"} 22`,
		`lowpanbr_nd_registrations_refused_total{reason="registry_full"} 23`,
		`lowpanbr_nd_registrations_evicted_total 24`,
		`lowpanbr_nd_registrations_tentative 1`,
		`lowpanbr_nd_registrations_protected 1`,
		`lowpanbr_nd_apnd_legacy_total 31`,
		`lowpanbr_nd_apnd_challenges_total 32`,
		`lowpanbr_nd_apnd_proofs_total{result="proven"} 33`,
		`lowpanbr_nd_apnd_proofs_total{result="failed"} 34`,
		`lowpanbr_nd_apnd_refused_total 35`,
		`lowpanbr_nd_apnd_challenges_dropped_total{reason="evicted"} 36`,
		`lowpanbr_nd_apnd_challenges_dropped_total{reason="expired"} 37`,
		`lowpanbr_nd_apnd_challenges_pending 38`,
		`lowpanbr_neighbor_rssi_dbm{link="wpan0",neighbor="02:00:00:00:00:00:01:01"} -67`,
		`lowpanbr_neighbor_lqi{link="wpan0",neighbor="02:00:00:00:00:00:01:01"} 180`,
		`lowpanbr_radio_tx_latency_seconds_bucket{le="0.005"} 1`,
		`lowpanbr_build_info{version="test"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// BenchmarkScrape: one scrape's cost, gathering every family (64
// neighbours) into the exposition format.
func BenchmarkScrape(b *testing.B) {
	ndr, _ := nd.New(nd.Config{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), LinkLocal: netip.MustParseAddr("fe80::1"),
		Global: netip.MustParseAddr("2001:db8:1::1"), ContextChangeDelay: -1}, time.Now())
	m := New("bench")
	m.Register(Sources{Links: []Link{manyNeighbors{}}, RCP: fakeRCP{}, Forwarder: fakeForwarder{}, ND: ndr})
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	}
}

type manyNeighbors struct{ fakeLink }

func (manyNeighbors) Neighbors() []link.Neighbor {
	out := make([]link.Neighbor, 64)
	for i := range out {
		out[i] = link.Neighbor{Addr: lowpan.ExtendedLinkAddr([8]byte{2, 0, 0, 0, 0, 0, 1, byte(i)}), RSSI: -60, LQI: 200}
	}
	return out
}

// TestLabelND: the status API's ND counts carry the metrics' labels, one
// per index, with the index's value.
func TestLabelND(t *testing.T) {
	var c nd.Counters
	c.Received[nd.RecvNSIgnored] = 4
	c.Received[nd.RecvDAR] = 2
	c.StatusReplies[nd.StatusNeighborCacheFull] = 3
	c.Refused[nd.RefusedLink] = 5
	l := LabelND(c)
	if l.Received["ns_ignored"] != 4 || l.Received["edar"] != 2 || len(l.Received) != len(c.Received) {
		t.Errorf("received %v", l.Received)
	}
	if l.StatusReplies["neighbor_cache_full"] != 3 || len(l.StatusReplies) != len(c.StatusReplies) {
		t.Errorf("status replies %v", l.StatusReplies)
	}
	if l.Refused["link_quota"] != 5 || len(l.Refused) != 3 {
		t.Errorf("refused %v", l.Refused)
	}
}
