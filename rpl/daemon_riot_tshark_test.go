package rpl

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

// daemonRIOTChain is the air of a run of the daemon as a storing-mode
// root with RIOT gnrc_rpl routers (testdata/daemon_README.md); its mesh
// prefix, context 0 of the root's 6CO, is 2001:db8:1::/64.
const daemonRIOTChain = "testdata/daemon_riot_chain.pcap"

// TestDaemonRIOTChainTshark compares our decoding of every RPL message in
// the capture with tshark's, as TestRIOTCaptures does for RIOT's own
// captures: nothing malformed, the same field values.
func TestDaemonRIOTChainTshark(t *testing.T) {
	oracle.Tshark(t)
	c := oracle.Capture{Path: daemonRIOTChain, TwoPass: true, Prefs: []string{"6lowpan.context0:" + "2001:db8:1::/64"}}
	sources := c.DataSources(t)
	rows := c.FieldMaps(t, append([]string{"_ws.expert.severity"}, riotFields...)...)
	total := map[Code]int{}
	for i, got := range rows {
		if got["_ws.malformed"] != "" || strings.Contains(got["_ws.expert.severity"], fmt.Sprint(0x800000)) {
			t.Errorf("frame %d: tshark: malformed or an expert error", i+1)
		}
		src := sources[i+1]
		pkt := src["Reassembled 6LoWPAN"]
		if pkt == nil {
			pkt = src["Decompressed 6LoWPAN IPHC"]
		}
		if len(pkt) < ip6.HeaderLen {
			continue
		}
		want, err := riotDecode(pkt, total)
		if err != nil {
			t.Errorf("frame %d: %v", i+1, err)
			continue
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("frame %d: %s: tshark %q, ours %q", i+1, k, got[k], v)
			}
		}
	}
	t.Logf("%s: RPL messages compared with tshark: %v", filepath.Base(daemonRIOTChain), total)
	if total[CodeDIO] == 0 || total[CodeDAO] == 0 || total[CodeDAOACK] == 0 {
		t.Errorf("want DIOs, DAOs and DAO-ACKs, got %v", total)
	}
}
