// Every sequence exactly once, in order, through every fault, against FakeGateway playing Discord.
import { exactlyOnceSuite } from '../support/exactly-once.js';

exactlyOnceSuite('discord');
