/**
 * `npm start`: the dev demo, i.e. `leaseflow dev` with the arguments given after `--`
 * (`npm start -- --db mysql://root@127.0.0.1:3306/leaseflow`, `npm start -- --quick`).
 */
import { main } from './cli';

main(['dev', ...process.argv.slice(2)]);
