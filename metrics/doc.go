// Package metrics exports the border router's counters to Prometheus
// (github.com/prometheus/client_golang): a collector that reads the
// components' own counters when scraped (so the packet path keeps its
// atomic counters and pays nothing for Prometheus), the transmit latency
// histogram the forwarder observes into, and the Go runtime and process
// collectors.
//
// Names follow the Prometheus conventions: a lowpanbr_ prefix, base units
// in the name (_seconds, _bytes, _dbm), _total on counters. Per-neighbour
// gauges carry the neighbour's EUI-64 as a label; the link bounds its
// neighbour table (link.LowpanConfig.MaxNeighbors, 64 by default),
// which bounds the label values.
//
// The defences against floods and hijacks are counted where they act:
// the control path's admission (nd_control_admitted_total{class},
// nd_control_dropped_total{reason}), source address validation
// (forwarder_source_rejected_total{reason}), the reassembly share of
// registered neighbours (lowpan_reassembly_evicted_registered_total), the
// registry's quotas (nd_registrations_refused_total{reason},
// nd_registrations_evicted_total, nd_registrations_tentative) and RFC 8928
// AP-ND (nd_registrations_protected, nd_apnd_*). Every label value is
// served from the first scrape, zero until it happens.
//
// Counters never go backwards: the radio driver's, the Spinel and HDLC
// error counts among them, are its own over its life, summed over every
// connection to the RCP, so a reconnection does not start them again.
//
// The architecture sketch has this package import nothing of ours; reading
// the components' Stats structs directly is less code than mirroring each
// in a type of its own, so it imports router, nd and radio/rcp (nothing
// imports it but cmd).
package metrics
