package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lowpanbr/lowpanbr/link"
	"github.com/lowpanbr/lowpanbr/nd"
	"github.com/lowpanbr/lowpanbr/radio/rcp"
	"github.com/lowpanbr/lowpanbr/router"
)

// Link is what the collector reads of an 802.15.4 link.
type Link interface {
	Name() string
	Stats() link.LowpanStats
	Neighbors() []link.Neighbor
	QueueStats() link.QueueStats
}

// RCP is what the collector reads of the radio driver.
type RCP interface {
	Stats() rcp.Stats
	QueueDepth() int
}

// Forwarder is what the collector reads of the forwarder.
type Forwarder interface{ Stats() router.ForwarderStats }

// RPLRoot is what the collector reads of a forwarder that is a RPL root
// (*router.Forwarder); ok false when it is not.
type RPLRoot interface {
	RPL() (router.RPLStats, bool)
}

// ND is what the collector reads of the 6LBR (*nd.Router).
type ND interface {
	Registry() *nd.Registry
	Counters() nd.Counters
	ABROVersion() uint32
}

// Sources are the components the collector reads; nil ones are skipped.
type Sources struct {
	Links     []Link
	RCP       RCP
	Forwarder Forwarder
	ND        ND
}

// Metrics is the registry the daemon serves and the instruments the
// packet path observes into.
type Metrics struct {
	Registry *prometheus.Registry
	// TxLatency: seconds from a packet read off the TUN to its last
	// frame's transmit done (router.ForwarderConfig.TxLatency).
	TxLatency prometheus.Histogram
}

// New makes a registry with the Go runtime and process collectors, build
// information and the transmit latency histogram. Register adds the
// components once they exist.
func New(version string) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "lowpanbr_build_info", Help: "Build information; the value is 1.",
		ConstLabels: prometheus.Labels{"version": version}})
	info.Set(1)
	// 250 kbit/s: one frame takes 0.5–5 ms with CSMA and ACK, a 1280-octet
	// packet 13 frames, a queue of them much longer.
	m.TxLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lowpanbr_radio_tx_latency_seconds",
		Help:    "Time from reading a packet off the TUN to the transmit done of its last frame.",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}})
	m.Registry.MustRegister(info, m.TxLatency)
	return m
}

// Register adds the collector for the components.
func (m *Metrics) Register(s Sources) error {
	return m.Registry.Register(newCollector(s))
}

type desc = *prometheus.Desc

func d(name, help string, labels ...string) desc {
	return prometheus.NewDesc("lowpanbr_"+name, help, labels, nil)
}

var (
	dFramesSent    = d("radio_frames_sent_total", "802.15.4 transmissions handed to the radio, every try (a retry after a channel access failure is another), by result (acked, no_ack: none after the RCP's retries, cca_failure, error, broadcast: sent without an ACK request).", "link", "result")
	dFramesRecv    = d("radio_frames_received_total", "802.15.4 frames received.", "link")
	dRetries       = d("radio_tx_retries_total", "Frames sent again by the host after a channel access failure (retries after a missing ACK happen inside the RCP and are not reported).", "link")
	dBytesSent     = d("radio_bytes_sent_total", "PSDU octets handed to the radio (FCS included).", "link")
	dBytesRecv     = d("radio_bytes_received_total", "PSDU octets received.", "link")
	dQueueDepth    = d("radio_tx_queue_depth", "Transmissions waiting for the RCP driver (one is on the air at a time).")
	dLinkQueue     = d("link_tx_queue_packets", "Packets waiting in the link's transmit queue.", "link")
	dLinkQueueDrop = d("link_tx_queue_drops_total", "Packets the link's transmit queue dropped, by reason (queue_full: no room for the destination or the link; expired: waited past the queue's maximum delay; stopped: the link was shutting down).", "link", "reason")
	dRadioUp       = d("radio_up", "1 when the RCP is initialised and usable.")
	dRCPResets     = d("rcp_resets_total", "Unexpected RCP resets.")
	dRCPReconnects = d("rcp_reconnects_total", "Successful re-initialisations of the RCP after a reset, timeout or transport failure.")
	dRCPTimeouts   = d("rcp_timeouts_total", "Transmissions and Spinel requests the RCP did not answer, all tries spent.")
	dRCPDisconn    = d("rcp_disconnects_total", "Transport failures (the dongle went away, read or write errors).")
	dRCPProbes     = d("rcp_probes_total", "Times the driver asked an RCP that left a request or transmission unanswered whether it was still set up, by result (alive: frames were lost on the line; failed: it did not answer or had reset, and was initialised again).", "result")
	dRCPResent     = d("rcp_tx_resent_total", "Transmit requests sent to the RCP again because their transmit-done was overdue (the request or its answer lost on the serial line).")
	dSpinelErrors  = d("spinel_errors_total", "HDLC and Spinel errors since the driver started, over every RCP connection, by kind.", "kind")
	dNbRSSI        = d("neighbor_rssi_dbm", "RSSI of the last frame heard from a neighbour.", "link", "neighbor")
	dNbLQI         = d("neighbor_lqi", "LQI of the last frame heard from a neighbour.", "link", "neighbor")
	dNeighbors     = d("neighbors", "Neighbours tracked (bounded by the link's MaxNeighbors).", "link")

	dPktSent     = d("lowpan_packets_sent_total", "IPv6 packets sent as 6LoWPAN.", "link")
	dPktRecv     = d("lowpan_packets_received_total", "IPv6 packets received (reassembled and decompressed).", "link")
	dSaved       = d("lowpan_header_bytes_saved_total", "Header octets saved by compression (uncompressed minus compressed).", "link")
	dFragSent    = d("lowpan_fragments_sent_total", "RFC 4944 fragments sent.", "link")
	dFragRecv    = d("lowpan_fragments_received_total", "RFC 4944 fragments received.", "link")
	dReasm       = d("lowpan_reassemblies_total", "Datagram reassemblies by outcome (completed, timed_out, evicted, overlap, malformed, rejected).", "link", "outcome")
	dReasmMemory = d("lowpan_reassembly_memory_bytes", "Octets of reassembly buffers in use.", "link")
	dMACDups     = d("lowpan_mac_duplicates_total", "MAC retransmissions dropped (same source and sequence number).", "link")
	dDecodeErrs  = d("lowpan_decode_errors_total", "Frames or datagrams that could not be decoded.", "link")
	dReasmEvReg  = d("lowpan_reassembly_evicted_registered_total", "Datagrams from registered neighbours' link-layer addresses evicted from reassembly to make room (part of lowpan_reassemblies_total{outcome=\"evicted\"}): 0 under a flood from made-up sources while the reserved share holds; a flood spoofing a neighbour's address counts here.", "link")

	dTUN         = d("tun_packets_total", "Packets read from (rx) and written to (tx) the TUN.", "direction")
	dForwarded   = d("forwarded_packets_total", "Packets sent into the mesh, from Linux (to_mesh) or between nodes (mesh_to_mesh).", "path")
	dDropped     = d("dropped_packets_total", "Packets dropped for what they are: not IPv6, multicast wider than the mesh, link-local from Linux, bad ND, RPL header, loop and forwarding errors, failed TUN writes.")
	dNoRoute     = d("no_route_packets_total", "Unicast packets with no way to their destination: not registered, a RPL route that loops, a link gone (answered with ICMPv6 address unreachable, rate permitting).")
	dSendFails   = d("send_failures_total", "Packets a link would not take for transmission: its queue full, or the packet could not be encoded (failures on the air are in lowpanbr_radio_frames_sent_total{result}).")
	dICMPSent    = d("icmpv6_errors_sent_total", "ICMPv6 errors sent, by type (unreachable, too_big, hop_limit).", "type")
	dICMPLimited = d("icmpv6_errors_rate_limited_total", "ICMPv6 errors not sent because of the rate limit.")
	dCtlAdmitted = d("nd_control_admitted_total", "ND messages from the mesh admitted to the control worker, by class (neighbor: a registered neighbour, from its own address; stranger: anybody else).", "class")
	dCtlDropped  = d("nd_control_dropped_total", "ND messages from the mesh dropped before the control worker, by reason (queue_full: the class's queue was full; rate_limited: the sender's token bucket was empty; budget: the strangers' shared budget was spent).", "reason")
	dSrcRejected = d("forwarder_source_rejected_total", "Packets from the mesh dropped by source address validation, by reason (unregistered: the source is not registered through the neighbour that sent it; link_local_mismatch: a link-local source that is not the sender's; invalid: unspecified, multicast or loopback).", "reason")

	dRegs         = d("nd_registrations", "Live registrations, registered directly or through a 6LR.", "path")
	dRegCapacity  = d("nd_registry_capacity", "Most registrations the 6LBR holds.")
	dRegOutcomes  = d("nd_registration_outcomes_total", "Answers to registrations (NS with (E)ARO and (E)DAR), by status.", "status")
	dNDReceived   = d("nd_messages_received_total", "ND messages handled by the 6LBR, by type (rs, ns, edar, other).", "type")
	dRASent       = d("nd_ra_sent_total", "Router Advertisements sent into the mesh.")
	dNASent       = d("nd_na_sent_total", "Neighbor Advertisements sent.")
	dEDACSent     = d("nd_edac_sent_total", "(E)DACs sent to 6LRs.")
	dABROVersion  = d("nd_abro_version", "The ABRO version number advertised.")
	dRegRefused   = d("nd_registrations_refused_total", "Registrations refused for want of room (answered neighbor cache full, or registry saturated in an EDAC), by reason (neighbor_quota: the neighbour's share; link_quota: the link's share; registry_full: the registry).", "reason")
	dRegEvicted   = d("nd_registrations_evicted_total", "Tentative registrations removed to make room for another.")
	dRegTentative = d("nd_registrations_tentative", "Live registrations not yet confirmed (tentative: they may be evicted, never evict an established one).")
	dRegProtected = d("nd_registrations_protected", "Live registrations proven by a Crypto-ID (RFC 8928): only their owner may change or remove them.")
	dAPNDChal     = d("nd_apnd_challenges_total", "AP-ND challenges sent (NA with status validation requested and a nonce, RFC 8928 §6.1).")
	dAPNDProofs   = d("nd_apnd_proofs_total", "AP-ND proofs checked, by result (proven, failed: answered validation failed).", "result")
	dAPNDLegacy   = d("nd_apnd_legacy_total", "Registrations without a Crypto-ID passed on unproven while AP-ND is on.")
	dAPNDRefused  = d("nd_apnd_refused_total", "Registrations without a Crypto-ID refused because AP-ND requires one (nd.apnd_require).")
	dAPNDDropped  = d("nd_apnd_challenges_dropped_total", "AP-ND challenges dropped unanswered, by reason (evicted: for a newer one, at the caps; expired: the nonce ran out).", "reason")
	dAPNDPending  = d("nd_apnd_challenges_pending", "AP-ND challenges outstanding.")
	dRPLTargets   = d("rpl_targets", "DAO targets (routes) the RPL root holds.")
	dRPLVersion   = d("rpl_dodag_version", "The DODAG Version Number the root advertises (RFC 6550 §7.2 lollipop).")
	dRPLReceived  = d("rpl_messages_received_total", "RPL control messages handled by the root, by type (dis: multicast, dis_unicast, dio, dao, ignored: another instance or DODAG, secure, DAO-ACK).", "type")
	dRPLSent      = d("rpl_messages_sent_total", "RPL control messages sent by the root, by type (dio, dao_ack).", "type")
	dRPLTargetEv  = d("rpl_target_events_total", "DAO target changes at the root, by event (added, refreshed, removed: No-Path, expired).", "event")
	dRPLDropped   = d("rpl_dropped_total", "RPL messages or DAO targets the root dropped, by reason (queue_full, malformed: bad message or checksum, spoofed: from a link-local address not the sender's, tunnelled_control: ND or link-scoped traffic inside a tunnel, table_full: rpl.max_targets reached, loop: a transit that would loop the source routes, stale: older path sequence, no_parent: non-storing transit without parent, target: not routable, owner: RFC 9010 ROVR of another owner).", "reason")
	dRPLPackets   = d("rpl_data_packets_total", "Data packets the root handled by RPL, by action (routed_down, source_routed, tunnelled, decapsulated, rpi_stripped, source_accepted).", "action")
	dRPLErrors    = d("rpl_data_errors_total", "Data-plane problems, by kind (loop: a route looping or too deep, rank: an upward packet with the RPI's Down flag, loop_dropped: one with Rank-Error already set, dropped, forwarding: a packet returned with the Forwarding-Error flag, whose route was forgotten, header: RPL headers that could not be added or removed).", "kind")
	allDescs      = []desc{dRPLTargets, dRPLVersion, dRPLReceived, dRPLSent, dRPLTargetEv, dRPLDropped, dRPLPackets, dRPLErrors, dFramesSent, dFramesRecv, dRetries, dBytesSent, dBytesRecv, dQueueDepth, dLinkQueue, dLinkQueueDrop, dNoRoute, dRadioUp, dRCPResets, dRCPReconnects, dRCPTimeouts, dRCPDisconn, dRCPProbes, dRCPResent, dSpinelErrors, dNbRSSI, dNbLQI, dNeighbors, dPktSent, dPktRecv, dSaved, dFragSent, dFragRecv, dReasm, dReasmMemory, dMACDups, dDecodeErrs, dReasmEvReg, dTUN, dForwarded, dDropped, dSendFails, dICMPSent, dICMPLimited, dCtlAdmitted, dCtlDropped, dSrcRejected, dRegs, dRegCapacity, dRegOutcomes, dNDReceived, dRASent, dNASent, dEDACSent, dABROVersion, dRegRefused, dRegEvicted, dRegTentative, dRegProtected, dAPNDChal, dAPNDProofs, dAPNDLegacy, dAPNDRefused, dAPNDDropped, dAPNDPending}
	statusLabels  = [...]string{"success", "duplicate", "neighbor_cache_full", "moved", "removed", "validation_requested", "duplicate_source", "invalid_source", "topologically_incorrect", "registry_saturated", "validation_failed"}
	receivedTypes = [...]string{"rs", "ns", "edar", "other", "ns_ignored"}
	// refusalLabels names nd.Counters.Refused's indexes (nd.Refusal).
	refusalLabels = [...]struct {
		r     nd.Refusal
		label string
	}{{nd.RefusedNeighbor, "neighbor_quota"}, {nd.RefusedLink, "link_quota"}, {nd.RefusedCapacity, "registry_full"}}
)

type collector struct{ s Sources }

func newCollector(s Sources) *collector { return &collector{s: s} }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func counter(ch chan<- prometheus.Metric, d desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(ch chan<- prometheus.Metric, d desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.s.Links {
		collectLink(ch, l)
	}
	if r := c.s.RCP; r != nil {
		st := r.Stats()
		gauge(ch, dQueueDepth, float64(r.QueueDepth()))
		up := 0.0
		if st.Up {
			up = 1
		}
		gauge(ch, dRadioUp, up)
		counter(ch, dRCPResets, st.Resets)
		counter(ch, dRCPReconnects, st.Reconnects)
		counter(ch, dRCPTimeouts, st.Timeouts)
		counter(ch, dRCPDisconn, st.Disconnects)
		counter(ch, dRCPProbes, st.Probes-min(st.Probes, st.ProbesFailed), "alive")
		counter(ch, dRCPProbes, st.ProbesFailed, "failed")
		// The driver's counters, Spinel's included, add up over its
		// connections: none goes back at a reconnection.
		sp := st.Spinel
		counter(ch, dRCPResent, sp.TxResent)
		for _, k := range []struct {
			kind string
			v    uint64
		}{
			{"hdlc_bad_fcs", sp.HDLC.BadFCS}, {"hdlc_runt", sp.HDLC.Runts}, {"hdlc_oversize", sp.HDLC.Oversize},
			{"hdlc_aborted", sp.HDLC.Aborted}, {"hdlc_garbage_bytes", sp.HDLC.GarbageBytes},
			{"spinel_bad_frame", sp.BadFrames}, {"spinel_unmatched", sp.Unmatched}, {"spinel_late", sp.Late}, {"spinel_timeout", sp.Timeouts},
			{"spinel_subscriber_drop", sp.SubscriberDrops},
		} {
			counter(ch, dSpinelErrors, k.v, k.kind)
		}
	}
	if f, ok := c.s.Forwarder.(RPLRoot); ok {
		if st, ok := f.RPL(); ok {
			collectRPL(ch, st)
		}
	}
	if f := c.s.Forwarder; f != nil {
		st := f.Stats()
		counter(ch, dTUN, st.FromTUN, "rx")
		counter(ch, dTUN, st.ToTUN, "tx")
		counter(ch, dForwarded, st.ToMesh, "to_mesh")
		counter(ch, dForwarded, st.MeshToMesh, "mesh_to_mesh")
		counter(ch, dDropped, st.Dropped)
		counter(ch, dNoRoute, st.Unreachable)
		counter(ch, dSendFails, st.SendRefused)
		counter(ch, dICMPSent, st.ICMPUnreachableSent, "unreachable")
		counter(ch, dICMPSent, st.ICMPTooBigSent, "too_big")
		counter(ch, dICMPSent, st.ICMPHopLimitSent, "hop_limit")
		counter(ch, dICMPLimited, st.ICMPErrorsRateLimited)
		counter(ch, dCtlAdmitted, st.NDFromNeighbors, "neighbor")
		counter(ch, dCtlAdmitted, st.NDFromStrangers, "stranger")
		counter(ch, dCtlDropped, st.NDDroppedQueueFull, "queue_full")
		counter(ch, dCtlDropped, st.NDDroppedRateLimited, "rate_limited")
		counter(ch, dCtlDropped, st.NDDroppedBudget, "budget")
		counter(ch, dSrcRejected, st.SourceUnregistered, "unregistered")
		counter(ch, dSrcRejected, st.SourceLinkLocalMismatch, "link_local_mismatch")
		counter(ch, dSrcRejected, st.SourceInvalid, "invalid")
	}
	if r := c.s.ND; r != nil {
		rs := r.Registry().Stats(time.Now())
		gauge(ch, dRegs, float64(rs.Direct), "direct")
		gauge(ch, dRegs, float64(rs.Via6LR), "via_6lr")
		gauge(ch, dRegCapacity, float64(rs.Capacity))
		gauge(ch, dRegTentative, float64(rs.Tentative))
		gauge(ch, dRegProtected, float64(rs.Protected))
		cn := r.Counters()
		for i, s := range statusLabels {
			if i < len(cn.StatusReplies) {
				counter(ch, dRegOutcomes, cn.StatusReplies[i], s)
			}
		}
		for i, t := range receivedTypes {
			if i < len(cn.Received) {
				counter(ch, dNDReceived, cn.Received[i], t)
			}
		}
		counter(ch, dRASent, cn.RAsSent)
		counter(ch, dNASent, cn.NAsSent)
		counter(ch, dEDACSent, cn.DACsSent)
		gauge(ch, dABROVersion, float64(r.ABROVersion()))
		for _, l := range refusalLabels {
			if int(l.r) < len(cn.Refused) {
				counter(ch, dRegRefused, cn.Refused[l.r], l.label)
			}
		}
		counter(ch, dRegEvicted, cn.Evicted)
		// AP-ND's families are served with AP-ND off too (all 0), so that
		// every family exists from the first scrape.
		a := cn.APND
		counter(ch, dAPNDChal, a.Challenges)
		counter(ch, dAPNDProofs, a.Proven, "proven")
		counter(ch, dAPNDProofs, a.Failed, "failed")
		counter(ch, dAPNDLegacy, a.Legacy)
		counter(ch, dAPNDRefused, a.Refused)
		counter(ch, dAPNDDropped, a.Evicted, "evicted")
		counter(ch, dAPNDDropped, a.Expired, "expired")
		gauge(ch, dAPNDPending, float64(cn.APNDPending))
	}
}

func collectLink(ch chan<- prometheus.Metric, l Link) {
	name := l.Name()
	q := l.QueueStats()
	gauge(ch, dLinkQueue, float64(q.Queued), name)
	counter(ch, dLinkQueueDrop, q.DroppedFull, name, "queue_full")
	counter(ch, dLinkQueueDrop, q.DroppedExpired, name, "expired")
	counter(ch, dLinkQueueDrop, q.DroppedStopped, name, "stopped")
	st := l.Stats()
	// Frames without an ACK request (broadcast) end as "sent"; every
	// attempt is counted once by its result.
	broadcast := st.FramesSent - min(st.FramesSent, st.TxAcked+st.TxNoAck+st.TxCCA+st.TxErrors)
	counter(ch, dFramesSent, st.TxAcked, name, "acked")
	counter(ch, dFramesSent, st.TxNoAck, name, "no_ack")
	counter(ch, dFramesSent, st.TxCCA, name, "cca_failure")
	counter(ch, dFramesSent, st.TxErrors, name, "error")
	counter(ch, dFramesSent, broadcast, name, "broadcast")
	counter(ch, dFramesRecv, st.FramesReceived, name)
	counter(ch, dRetries, st.TxRetries, name)
	counter(ch, dBytesSent, st.BytesSent, name)
	counter(ch, dBytesRecv, st.BytesReceived, name)
	counter(ch, dPktSent, st.PacketsSent, name)
	counter(ch, dPktRecv, st.PacketsReceived, name)
	counter(ch, dSaved, st.HeaderBytesSaved, name)
	counter(ch, dFragSent, st.FragmentsSent, name)
	counter(ch, dFragRecv, st.Reassembly.Fragments, name)
	ra := st.Reassembly
	for _, o := range []struct {
		outcome string
		v       uint64
	}{{"completed", ra.Completed}, {"timed_out", ra.TimedOut}, {"evicted", ra.Evicted}, {"overlap", ra.Overlaps}, {"malformed", ra.Malformed}, {"rejected", ra.Rejected}} {
		counter(ch, dReasm, o.v, name, o.outcome)
	}
	gauge(ch, dReasmMemory, float64(st.ReassemblyMemory), name)
	counter(ch, dMACDups, st.MACDuplicates, name)
	counter(ch, dDecodeErrs, st.DecodeErrors+st.BadFrames, name)
	counter(ch, dReasmEvReg, ra.EvictedRegistered, name)
	nbs := l.Neighbors()
	gauge(ch, dNeighbors, float64(len(nbs)), name)
	for _, n := range nbs {
		a := n.Addr.String()
		gauge(ch, dNbRSSI, float64(n.RSSI), name, a)
		gauge(ch, dNbLQI, float64(n.LQI), name, a)
	}
}

func collectRPL(ch chan<- prometheus.Metric, st router.RPLStats) {
	gauge(ch, dRPLTargets, float64(st.Targets))
	gauge(ch, dRPLVersion, float64(st.Version))
	r := st.Root
	counter(ch, dRPLReceived, r.DIS, "dis")
	counter(ch, dRPLReceived, r.DISUnicast, "dis_unicast")
	counter(ch, dRPLReceived, r.DIO, "dio")
	counter(ch, dRPLReceived, r.DAO, "dao")
	counter(ch, dRPLReceived, r.Ignored, "ignored")
	counter(ch, dRPLSent, r.DIOsSent, "dio")
	counter(ch, dRPLSent, r.DAOACKsSent, "dao_ack")
	counter(ch, dRPLTargetEv, r.TargetsAdded, "added")
	counter(ch, dRPLTargetEv, r.TargetsRefreshed, "refreshed")
	counter(ch, dRPLTargetEv, r.TargetsRemoved, "removed")
	counter(ch, dRPLTargetEv, r.TargetsExpired, "expired")
	for _, k := range []struct {
		reason string
		v      uint64
	}{
		{"queue_full", st.QueueDropped}, {"malformed", st.Malformed}, {"spoofed", st.Spoofed}, {"tunnelled_control", st.TunnelledControl}, {"table_full", r.DroppedFull}, {"loop", r.DroppedLoop},
		{"stale", r.DroppedStale}, {"no_parent", r.DroppedNoParent}, {"target", r.DroppedTarget}, {"owner", r.DroppedOwner},
	} {
		counter(ch, dRPLDropped, k.v, k.reason)
	}
	counter(ch, dRPLPackets, st.RoutedDown, "routed_down")
	counter(ch, dRPLPackets, st.SourceRouted, "source_routed")
	counter(ch, dRPLPackets, st.Tunnelled, "tunnelled")
	counter(ch, dRPLPackets, st.Decapsulated, "decapsulated")
	counter(ch, dRPLPackets, st.RPIStripped, "rpi_stripped")
	counter(ch, dRPLPackets, st.SourcesAccepted, "source_accepted")
	counter(ch, dRPLErrors, st.RoutingLoops, "loop")
	counter(ch, dRPLErrors, st.RankErrors, "rank")
	counter(ch, dRPLErrors, st.HeaderErrors, "header")
	counter(ch, dRPLErrors, st.LoopsDropped, "loop_dropped")
	counter(ch, dRPLErrors, st.ForwardingErrors, "forwarding")
}

// NDLabelled is nd.Counters' arrays keyed by the labels the metrics give
// their indexes (lowpanbr_nd_messages_received_total{type},
// lowpanbr_nd_registration_outcomes_total{status},
// lowpanbr_nd_registrations_refused_total{reason}), for the status API:
// one set of names for both.
type NDLabelled struct {
	Received      map[string]uint64
	StatusReplies map[string]uint64
	Refused       map[string]uint64
}

// LabelND keys c's arrays by their labels.
func LabelND(c nd.Counters) NDLabelled {
	out := NDLabelled{Received: make(map[string]uint64, len(receivedTypes)), StatusReplies: make(map[string]uint64, len(statusLabels)),
		Refused: make(map[string]uint64, len(refusalLabels))}
	for i, t := range receivedTypes {
		if i < len(c.Received) {
			out.Received[t] = c.Received[i]
		}
	}
	for i, s := range statusLabels {
		if i < len(c.StatusReplies) {
			out.StatusReplies[s] = c.StatusReplies[i]
		}
	}
	for _, l := range refusalLabels {
		if int(l.r) < len(c.Refused) {
			out.Refused[l.label] = c.Refused[l.r]
		}
	}
	return out
}
