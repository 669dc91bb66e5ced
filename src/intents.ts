/**
 * Which gateway intents each dispatch event needs (protocol.md section 11), shared by
 * the simulator's filter and the client's event-type groups.
 */
import { GatewayDispatchEvents, GatewayIntentBits } from 'discord-api-types/v10';

const I = GatewayIntentBits;
const E = GatewayDispatchEvents;

/**
 * Intent bits that Discord treats as privileged (GUILD_MEMBERS, GUILD_PRESENCES,
 * MESSAGE_CONTENT): an application must enable them before identifying with them.
 *
 * @example
 * if (intents & PRIVILEGED_INTENTS) console.log('needs the Developer Portal switch');
 */
export const PRIVILEGED_INTENTS: number = I.GuildMembers | I.GuildPresences | I.MessageContent;

/**
 * Every intent bit the v10 gateway defines; an IDENTIFY with any other bit closes 4013.
 *
 * @example
 * const undefinedBits = intents & ~ALL_INTENTS;
 */
export const ALL_INTENTS: number = Object.values(I)
  .filter((value): value is number => typeof value === 'number')
  .reduce((all, bit) => all | bit, 0);

/**
 * The intents that let a dispatch through: the event is sent when the session holds any
 * bit of `guild` (events in a guild) or of `direct` (events in a DM). An entry of zeros
 * on both sides means the event needs no intent and is always sent.
 */
export interface DispatchIntents {
  /** Any of these bits lets the event through when it happens in a guild. */
  readonly guild: number;
  /** Any of these bits lets the event through when it happens in a DM (0: never in DMs). */
  readonly direct: number;
}

const always: DispatchIntents = { guild: 0, direct: 0 };
const guildOnly = (bits: number): DispatchIntents => ({ guild: bits, direct: 0 });
const both = (guild: number, direct: number): DispatchIntents => ({ guild, direct });

/**
 * The intents each of the 79 dispatch events of `GatewayDispatchEvents` needs.
 * Typing a record over the enum makes the compiler flag any event added upstream.
 *
 * @example
 * const needed = DISPATCH_INTENTS[GatewayDispatchEvents.MessageCreate].guild; // GuildMessages
 */
export const DISPATCH_INTENTS: Readonly<Record<GatewayDispatchEvents, DispatchIntents>> = {
  [E.GuildCreate]: guildOnly(I.Guilds),
  [E.GuildUpdate]: guildOnly(I.Guilds),
  [E.GuildDelete]: guildOnly(I.Guilds),
  [E.GuildRoleCreate]: guildOnly(I.Guilds),
  [E.GuildRoleUpdate]: guildOnly(I.Guilds),
  [E.GuildRoleDelete]: guildOnly(I.Guilds),
  [E.ChannelCreate]: guildOnly(I.Guilds),
  [E.ChannelUpdate]: guildOnly(I.Guilds),
  [E.ChannelDelete]: guildOnly(I.Guilds),
  [E.ChannelPinsUpdate]: both(I.Guilds, I.DirectMessages),
  [E.ThreadCreate]: guildOnly(I.Guilds),
  [E.ThreadUpdate]: guildOnly(I.Guilds),
  [E.ThreadDelete]: guildOnly(I.Guilds),
  [E.ThreadListSync]: guildOnly(I.Guilds),
  [E.ThreadMemberUpdate]: guildOnly(I.Guilds),
  [E.ThreadMembersUpdate]: guildOnly(I.Guilds | I.GuildMembers),
  [E.StageInstanceCreate]: guildOnly(I.Guilds),
  [E.StageInstanceUpdate]: guildOnly(I.Guilds),
  [E.StageInstanceDelete]: guildOnly(I.Guilds),
  [E.VoiceChannelStatusUpdate]: guildOnly(I.Guilds),
  [E.VoiceChannelStartTimeUpdate]: guildOnly(I.Guilds),
  [E.GuildMemberAdd]: guildOnly(I.GuildMembers),
  [E.GuildMemberUpdate]: guildOnly(I.GuildMembers),
  [E.GuildMemberRemove]: guildOnly(I.GuildMembers),
  [E.GuildAuditLogEntryCreate]: guildOnly(I.GuildModeration),
  [E.GuildBanAdd]: guildOnly(I.GuildModeration),
  [E.GuildBanRemove]: guildOnly(I.GuildModeration),
  [E.GuildEmojisUpdate]: guildOnly(I.GuildExpressions),
  [E.GuildStickersUpdate]: guildOnly(I.GuildExpressions),
  [E.GuildSoundboardSoundCreate]: guildOnly(I.GuildExpressions),
  [E.GuildSoundboardSoundUpdate]: guildOnly(I.GuildExpressions),
  [E.GuildSoundboardSoundDelete]: guildOnly(I.GuildExpressions),
  [E.GuildSoundboardSoundsUpdate]: guildOnly(I.GuildExpressions),
  [E.GuildIntegrationsUpdate]: guildOnly(I.GuildIntegrations),
  [E.IntegrationCreate]: guildOnly(I.GuildIntegrations),
  [E.IntegrationUpdate]: guildOnly(I.GuildIntegrations),
  [E.IntegrationDelete]: guildOnly(I.GuildIntegrations),
  [E.WebhooksUpdate]: guildOnly(I.GuildWebhooks),
  [E.InviteCreate]: guildOnly(I.GuildInvites),
  [E.InviteDelete]: guildOnly(I.GuildInvites),
  [E.VoiceChannelEffectSend]: guildOnly(I.GuildVoiceStates),
  [E.VoiceStateUpdate]: guildOnly(I.GuildVoiceStates),
  [E.PresenceUpdate]: guildOnly(I.GuildPresences),
  [E.MessageCreate]: both(I.GuildMessages, I.DirectMessages),
  [E.MessageUpdate]: both(I.GuildMessages, I.DirectMessages),
  [E.MessageDelete]: both(I.GuildMessages, I.DirectMessages),
  [E.MessageDeleteBulk]: guildOnly(I.GuildMessages),
  [E.MessageReactionAdd]: both(I.GuildMessageReactions, I.DirectMessageReactions),
  [E.MessageReactionRemove]: both(I.GuildMessageReactions, I.DirectMessageReactions),
  [E.MessageReactionRemoveAll]: both(I.GuildMessageReactions, I.DirectMessageReactions),
  [E.MessageReactionRemoveEmoji]: both(I.GuildMessageReactions, I.DirectMessageReactions),
  [E.TypingStart]: both(I.GuildMessageTyping, I.DirectMessageTyping),
  [E.GuildScheduledEventCreate]: guildOnly(I.GuildScheduledEvents),
  [E.GuildScheduledEventUpdate]: guildOnly(I.GuildScheduledEvents),
  [E.GuildScheduledEventDelete]: guildOnly(I.GuildScheduledEvents),
  [E.GuildScheduledEventUserAdd]: guildOnly(I.GuildScheduledEvents),
  [E.GuildScheduledEventUserRemove]: guildOnly(I.GuildScheduledEvents),
  [E.AutoModerationRuleCreate]: guildOnly(I.AutoModerationConfiguration),
  [E.AutoModerationRuleUpdate]: guildOnly(I.AutoModerationConfiguration),
  [E.AutoModerationRuleDelete]: guildOnly(I.AutoModerationConfiguration),
  [E.AutoModerationActionExecution]: guildOnly(I.AutoModerationExecution),
  [E.MessagePollVoteAdd]: both(I.GuildMessagePolls, I.DirectMessagePolls),
  [E.MessagePollVoteRemove]: both(I.GuildMessagePolls, I.DirectMessagePolls),
  [E.Ready]: always,
  [E.Resumed]: always,
  [E.RateLimited]: always,
  [E.UserUpdate]: always,
  [E.VoiceServerUpdate]: always,
  [E.InteractionCreate]: always,
  [E.ApplicationCommandPermissionsUpdate]: always,
  [E.EntitlementCreate]: always,
  [E.EntitlementUpdate]: always,
  [E.EntitlementDelete]: always,
  [E.SubscriptionCreate]: always,
  [E.SubscriptionUpdate]: always,
  [E.SubscriptionDelete]: always,
  [E.GuildMembersChunk]: always,
  [E.SoundboardSounds]: always,
  [E.ChannelInfo]: always,
};

/**
 * Whether a session identified with `intents` receives the dispatch `t`. Unknown event
 * names are let through: a newer Discord may send events this table does not know yet.
 *
 * @example
 * receivesDispatch(GatewayIntentBits.Guilds, 'MESSAGE_CREATE', true); // false
 */
export function receivesDispatch(intents: number, t: string, inGuild: boolean): boolean {
  const needed = (DISPATCH_INTENTS as Readonly<Record<string, DispatchIntents | undefined>>)[t];
  if (needed === undefined) return true;
  const bits = inGuild ? needed.guild : needed.direct;
  if (needed.guild === 0 && needed.direct === 0) return true;
  return (intents & bits) !== 0;
}
