/* Differential harness (lowpanbr rpl data plane tests): reads lines
 * "MYADDR-hex PACKET-hex" on stdin, runs RIOT's gnrc_rpl_srh_process on the
 * packet's routing header (the packet: IPv6 header, then an optional
 * 8-octet Hop-by-Hop header, then the SRH), and prints the result code and
 * the packet afterwards. Written for lowpanbr; links RIOT's file unchanged. */
#include <stdio.h>
#include <string.h>
#include "net/ipv6/hdr.h"
#include "net/gnrc/rpl/srh.h"
#include "net/gnrc/ipv6/ext/rh.h"
#include "net/gnrc/netif/internal.h"

static ipv6_addr_t my;
gnrc_netif_t *gnrc_netif_get_by_ipv6_addr(const ipv6_addr_t *addr)
{
    static char dummy[4096];
    return memcmp(addr, &my, 16) == 0 ? (gnrc_netif_t *)dummy : NULL;
}

static int unhex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (s[0] && s[1] && n < max) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        out[n++] = v; s += 2;
    }
    return (int)n;
}

int main(void)
{
    char a[64], p[8192];
    uint8_t pkt[4096];
    while (scanf("%63s %8191s", a, p) == 2) {
        unhex(a, my.u8, 16);
        int n = unhex(p, pkt, sizeof(pkt));
        ipv6_hdr_t *ip = (ipv6_hdr_t *)pkt;
        int off = 40;
        if (ip->nh == 0) off += (pkt[41] + 1) * 8;
        void *err = NULL;
        int r = -99;
        if (n >= off + 8 && pkt[off + 2] == 3 && pkt[off + 3] > 0)
            r = gnrc_rpl_srh_process(ip, (gnrc_rpl_srh_t *)(pkt + off), &err);
        printf("%d %ld ", r, err ? (long)((uint8_t *)err - pkt) : -1L);
        for (int i = 0; i < n; i++) printf("%02x", pkt[i]);
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
