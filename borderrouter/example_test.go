package borderrouter_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/lowpanbr/lowpanbr/borderrouter"
)

// A border router on the built-in simulator, embedded in another program:
// it needs CAP_NET_ADMIN for the TUN.
func ExampleNew() {
	cfg := borderrouter.Defaults()
	cfg.Sim.Nodes = 3
	cfg.API.Socket = ""     // no status API: the program asks the BorderRouter itself
	cfg.Metrics.Listen = "" // and serves br.MetricsHandler() where it likes, if at all
	br, err := borderrouter.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go br.Run(ctx) // until cancel; then everything is taken down
	defer br.Close()
	for _, r := range br.Routes() {
		fmt.Println(r.Destination, "via", r.NextHop, r.Hops, "hops")
	}
}

// Validation reports every bad field of a Config built in code.
func ExampleConfig_Validate() {
	cfg := borderrouter.Defaults()
	cfg.Radio.Channel = 27
	cfg.TUN.MTU = 1000
	var ce *borderrouter.ConfigError
	if errors.As(cfg.Validate(), &ce) {
		for _, e := range ce.Errors {
			fmt.Printf("%s = %s: %s\n", e.Key, e.Value, e.Reason)
		}
	}
	// Output:
	// radio.channel = 27: want 11..26
	// tun.mtu = 1000: want 1280..65535
}

// The configuration as lowpanbr run reads it: the file, the environment,
// then the command line's flags; each error says where it was written.
func ExampleLoader() {
	l := borderrouter.Loader{
		Path: "", // no file
		LookupEnv: func(k string) (string, bool) {
			return map[string]string{"LOWPANBR_RADIO_CHANNEL": "30"}[k], k == "LOWPANBR_RADIO_CHANNEL"
		},
		Overrides: []borderrouter.Override{{Key: "log.level", Source: "--log-level", Values: []string{"loud"}}},
	}
	_, err := l.Load()
	fmt.Println(err)
	// Output:
	// $LOWPANBR_RADIO_CHANNEL: radio.channel: 30: want 11..26
	// --log-level: log.level: "loud": want debug, info, warn or error
}
