/**
 * The session rules of one shard in one place: READY starts a session, RESUMED and each new
 * dispatch sequence move its resume point, a repeated sequence is refused, the resume URL is
 * chosen and checked, and a session ends. The shard asks; the tracker decides and says when
 * something moved.
 */
import { GatewayOpcodes } from 'discord-api-types/v10';
import type { GatewayResumeData } from 'discord-api-types/v10';
import { tokenUrlProblem } from './gateway-url.js';
import { isSequence } from './payload-checks.js';
import { Session } from './session.js';

/** The sequence before a session's first dispatch: READY may then carry any sequence, 0 included. */
const NO_SEQUENCE = -1;

/** What the tracker tells its shard, so the shard can tell its observers. */
export interface SessionListener {
  /** A session began, changed its resume URL, or ended. */
  sessionChanged(): void;
  /** The resume point moved to `sequence`. */
  sequenceChanged(sequence: number): void;
  /** READY's `resume_gateway_url` was not used: it is no URL the token may be sent to. */
  resumeUrlIgnored(url: string, problem: string): void;
}

/** One shard's session: id, resume point and resume URL. */
export class SessionTracker {
  #id: string | null;
  /** The last sequence received in this session, or {@link NO_SEQUENCE}. */
  #sequence: number;
  #resumeUrl: string | null;
  /** The sequence last rewound for, so a gateway that repeats a broken message cannot loop it. */
  #rewoundFor: number | null = null;
  readonly #allowInsecureUrls: boolean;
  readonly #listener: SessionListener;

  constructor(session: Session | null, allowInsecureUrls: boolean, listener: SessionListener) {
    this.#id = session?.id ?? null;
    this.#sequence = session?.sequence ?? NO_SEQUENCE;
    this.#resumeUrl = session?.resumeUrl ?? null;
    this.#allowInsecureUrls = allowInsecureUrls;
    this.#listener = listener;
  }

  /** The session to resume, or null before READY and after it ended. */
  get session(): Session | null {
    return this.#id === null ? null : new Session(this.#id, this.#sequence, this.#resumeUrl);
  }

  /** Whether there is a session to resume. */
  get resumable(): boolean {
    return this.#id !== null;
  }

  /** The last sequence received, for messages about a refused one. */
  get sequence(): number {
    return this.#sequence;
  }

  /** A heartbeat's `d`: the last sequence, or null before the first. */
  get heartbeatSequence(): number | null {
    return this.#sequence === NO_SEQUENCE ? null : this.#sequence;
  }

  /** Where to connect: the resume URL while there is a session that has one, else `gatewayUrl`. */
  connectTarget(gatewayUrl: string): { readonly url: string; readonly usedResumeUrl: boolean } {
    const usedResumeUrl = this.#id !== null && this.#resumeUrl !== null;
    return { url: usedResumeUrl ? (this.#resumeUrl as string) : gatewayUrl, usedResumeUrl };
  }

  /** The RESUME payload for this session. */
  resumePayload(token: string): { op: GatewayOpcodes.Resume; d: GatewayResumeData } {
    return { op: GatewayOpcodes.Resume, d: { token, session_id: this.#id as string, seq: this.#sequence } };
  }

  /**
   * The sequence rule, on the receive path: sequences only grow within a session, so a
   * dispatch at or below the resume point was delivered already. Returns whether `s` is new
   * (and now the resume point).
   */
  advance(s: number): boolean {
    if (s <= this.#sequence) return false;
    this.#sequence = s;
    this.#listener.sequenceChanged(s);
    return true;
  }

  /** READY: a new session; its sequence starts at READY's whatever the last one reached (some gateways count from 0). */
  ready(sequence: number, sessionId: string, resumeUrl: string | undefined): void {
    this.#id = sessionId;
    this.#sequence = sequence;
    this.#resumeUrl = this.#acceptableResumeUrl(resumeUrl);
    this.#listener.sessionChanged();
  }

  /** RESUMED ends a resume whatever its sequence: a new one counts, an old or missing one is not an event to refuse. */
  resumed(sequence: unknown): void {
    if (isSequence(sequence)) this.advance(sequence);
  }

  /** The resume URL could not be connected to: resume on the gateway URL from now on. */
  resumeUrlFailed(): void {
    this.#resumeUrl = null;
    this.#listener.sessionChanged();
  }

  /** The session is over (op 9 `false`, 4007, 4009): the next connection identifies. */
  end(): void {
    const had = this.#id !== null;
    this.#id = null;
    this.#sequence = NO_SEQUENCE;
    this.#resumeUrl = null;
    if (had) this.#listener.sessionChanged();
  }

  /**
   * Moves the resume point back to just before dispatch `s`, which arrived broken, so a
   * resume receives it again. Refused (false) without a session, or when `s` was rewound
   * for once already.
   */
  rewindBefore(s: number): boolean {
    if (s === this.#rewoundFor || this.#id === null) return false;
    this.#rewoundFor = s;
    this.#sequence = s - 1;
    this.#listener.sequenceChanged(this.#sequence);
    return true;
  }

  /** A resume URL is used only where the gateway URL could be, so a forged one cannot carry the token elsewhere. */
  #acceptableResumeUrl(url: string | undefined): string | null {
    if (url === undefined) return null;
    const problem = URL.canParse(url) ? tokenUrlProblem(new URL(url), 'ws:', 'wss:', this.#allowInsecureUrls) : 'is not a valid URL';
    if (problem === null) return url;
    this.#listener.resumeUrlIgnored(url, problem);
    return null;
  }
}
