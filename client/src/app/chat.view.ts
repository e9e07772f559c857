import type { ReceivedMessage } from '@session-rebuilder/resilient-room';

/** The chat panel's topic: messages on other topics are not chat. */
export const CHAT_TOPIC = 'chat';

/**
 * The chat panel: a line per message, marked "delayed" when a move held it back on the way (sent while
 * the sender's node was gone, or sent again after it), and "queued" for our own lines typed while ours
 * is. It shows; the ResilientRoom delivers (each message once, in order, across moves).
 */
export class ChatView {
  constructor(private readonly list: HTMLOListElement) {}

  received(message: ReceivedMessage, name: string): void {
    this.append(name, message.text ?? '', message.from ?? '', message.delayed ? 'delayed' : undefined);
  }

  sent(text: string, queued: boolean): void {
    this.append('you', text, '', queued ? 'queued' : undefined);
  }

  clear(): void {
    this.list.replaceChildren();
  }

  private append(who: string, text: string, from: string, mark?: 'delayed' | 'queued'): void {
    const item = document.createElement('li');
    item.dataset.testid = 'chat-message';
    item.dataset.from = from;
    item.dataset.delayed = String(mark === 'delayed');
    const name = document.createElement('span');
    name.className = 'who';
    name.textContent = who;
    const body = document.createElement('span');
    body.textContent = text;
    item.append(name, body);
    if (mark) {
      const flag = document.createElement('span');
      flag.className = 'mark';
      flag.textContent = mark === 'delayed' ? 'delayed by a move' : 'queued: sent once the call is back';
      item.append(flag);
    }
    this.list.append(item);
    this.list.scrollTop = this.list.scrollHeight;
  }
}
