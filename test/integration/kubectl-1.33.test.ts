// kubectl 1.33, the newest on the machine, over every served kind.
import { describeKubectl } from './kubectl-suite.js';

describeKubectl('1.33');
