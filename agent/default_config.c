/* default_config.c - what ttlog-agent runs without -c: inputs on loopback
 * and a unix socket, and the console. `ttlog-agent --check -v` prints it. */
const char ttlog__agent_default_config[] =
	"# ttlog-agent's embedded configuration (used without -c).\n"
	"service:\n"
	"  name: ttlog-agent\n"
	"inputs:\n"
	"  - name: jsonl\n"
	"    type: jsonl\n"
	"    listen: tcp://127.0.0.1:5170\n"
	"  - name: syslog\n"
	"    type: syslog\n"
	"    listen: tcp://127.0.0.1:5514\n"
	"  - name: syslog-udp\n"
	"    type: syslog\n"
	"    listen: udp://127.0.0.1:5514\n"
	"  - name: local\n"
	"    type: jsonl\n"
	"    listen: unix://${XDG_RUNTIME_DIR:-/tmp}/ttlog-agent.sock\n"
	"listeners:\n"
	"  - name: console\n"
	"    type: stdout\n"
	"    format: text\n";
