// Every sequence exactly once, in order, through every fault, against FakeGateway playing Spacebar.
import { exactlyOnceSuite } from '../support/exactly-once.js';

exactlyOnceSuite('spacebar');
