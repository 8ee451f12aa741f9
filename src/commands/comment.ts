import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../cli/flags.js'
import type {Comment} from '../shared/comment.js'
import type {CommentPage} from '../lib/catalog/comments.js'
import {listCommentsFrom, postCommentTo} from '../lib/catalog/comment-service.js'
import {UserError} from '../lib/errors.js'

export default class CommentCommand extends BaseCommand {
  static override summary = 'Post a comment on a video, or list its comments.'
  static override description = 'Works on the local catalog, or on a running server with --api. Posting with --id is idempotent: the same id returns the first stored comment.'
  static override examples = [
    '<%= config.bin %> comment talk "Great talk!" --author ada',
    '<%= config.bin %> comment talk "Great talk!" --author ada --id 7f3c2a --api http://127.0.0.1:8080',
    '<%= config.bin %> comment talk "That slide!" --author ada --at 754.2',
    '<%= config.bin %> comment talk --list',
    '<%= config.bin %> comment talk --list --limit 20 --after CURSOR --json',
  ]

  static override args = {
    video: Args.string({description: 'Video id.', required: true}),
    text: Args.string({description: 'The comment (1 to 5000 characters).'}),
  }

  static override flags = {
    ...catalogFlags,
    author: Flags.string({description: 'Author name (1 to 100 characters).', env: 'LIVECTL_AUTHOR'}),
    id: Flags.string({description: 'Client id for idempotent posting.', env: 'LIVECTL_COMMENT_ID'}),
    at: Flags.string({description: 'Seconds of media time the comment refers to (where it sits on the timeline).', env: 'LIVECTL_COMMENT_AT'}),
    list: Flags.boolean({description: 'List comments instead of posting.', env: 'LIVECTL_LIST'}),
    after: Flags.string({description: 'With --list: cursor from the previous page.', env: 'LIVECTL_AFTER'}),
    limit: Flags.integer({description: 'With --list: comments per page.', env: 'LIVECTL_LIMIT', min: 1, max: 200}),
    api: Flags.string({description: 'Base URL of a running `livectl serve` to talk to instead of the catalog.', env: 'LIVECTL_API'}),
  }

  public async run(): Promise<Comment | CommentPage> {
    const {args, flags} = await this.parse(CommentCommand)
    const target = {...catalogOptionsFrom(flags, this.dataDir(flags)), api: flags.api}
    if (flags.list) {
      if (args.text !== undefined) throw new UserError('Give either a comment to post or --list, not both')
      const page = await listCommentsFrom({...target, videoId: args.video, after: flags.after, limit: flags.limit})
      for (const comment of page.comments) this.say(`[${comment.created_at}]${comment.at === null ? '' : ` @${comment.at}s`} ${comment.author}: ${comment.data}`)
      if (page.comments.length === 0) this.say('No comments.')
      if (page.next) this.say(`More: --after ${page.next}`)
      return page
    }

    if (args.text === undefined) throw new UserError('Nothing to post: give the comment text, or --list to read comments')
    if (!flags.author) throw new UserError('--author is required to post a comment')
    const at = flags.at === undefined ? undefined : Number(flags.at)
    if (at !== undefined && !(Number.isFinite(at) && at >= 0)) throw new UserError(`--at must be a number of seconds, 0 or more (got ${flags.at})`)
    const {comment, created} = await postCommentTo({...target, videoId: args.video, data: args.text, author: flags.author, id: flags.id, at})
    this.say(created ? `Posted comment ${comment.id} on ${comment.video_id}` : `Comment ${comment.id} was already posted; nothing changed`)
    return comment
  }
}
