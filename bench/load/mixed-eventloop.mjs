// A diagnostic to preload into the server under test: once a second, the event loop's delay (max, p99, mean),
// the garbage collections that ran and how long they took, RSS and heap, appended to $EVENTLOOP_LOG.
//   EVENTLOOP_LOG=/tmp/eld.log BENCH_SERVER_NODE_FLAGS="--import $PWD/bench/load/mixed-eventloop.mjs" \
//     BENCH_ONLY=mixed BENCH_SHORT=1 npm run bench
// A second whose max is far above its p99 had one long task (a list, a checkpoint, a collection, or the
// process waiting for a core on a busy machine); gcMs says how much of it was collection.
import { appendFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const out = process.env.EVENTLOOP_LOG ?? `/tmp/eventloop-${process.pid}.log`;
writeFileSync(out, '');
const ms = (ns) => (ns / 1e6).toFixed(1);
const perSecond = monitorEventLoopDelay({ resolution: 5 });
const whole = monitorEventLoopDelay({ resolution: 5 });
perSecond.enable();
whole.enable();
let collections = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) collections.push(Math.round(e.duration * 10) / 10);
}).observe({ entryTypes: ['gc'] });

let second = 0;
setInterval(() => {
  second++;
  const gcMs = collections.reduce((a, d) => a + d, 0);
  const mem = process.memoryUsage();
  appendFileSync(
    out,
    `${second} max=${ms(perSecond.max)} p99=${ms(perSecond.percentile(99))} mean=${ms(perSecond.mean)} ` +
      `gc=${collections.length} gcMs=${gcMs.toFixed(0)} longestGc=${Math.max(0, ...collections)} rss=${(mem.rss / 1048576).toFixed(0)} heap=${(mem.heapUsed / 1048576).toFixed(0)}\n`,
  );
  perSecond.reset();
  collections = [];
}, 1000).unref();

const summary = () => appendFileSync(out, `all max=${ms(whole.max)} p50=${ms(whole.percentile(50))} p99=${ms(whole.percentile(99))} p99.9=${ms(whole.percentile(99.9))}\n`);
process.on('exit', summary);
