-- Image / video / other share of related items, by month of the linking articles.
-- example: select month, related_items, images, videos, others, round(video_share, 3) as video_share from media_mix order by month
create or replace view media_mix as
with monthly as (
    select
        date_trunc('month', a.published_at)::date as month,
        count(*) as related_items,
        count(*) filter (where n.media_kind = 'image') as images,
        count(*) filter (where n.media_kind = 'video') as videos,
        count(*) filter (where n.media_kind = 'other') as others
    from related_items as ri
    inner join articles as a using (article_id)
    inner join news_items as n using (news_id)
    where a.published_at is not null
    group by all
)
select
    *,
    images / related_items as image_share,
    videos / related_items as video_share,
    others / related_items as other_share
from monthly
order by month;

comment on view media_mix is 'What kind of media the related lists pointed at: image, video and other counts and shares of related items, by month of the linking articles.';
comment on column media_mix.month is 'First day of the month in which the linking articles were published.';
comment on column media_mix.related_items is 'Related items listed by articles published that month.';
comment on column media_mix.images is 'Of which pictures (.jpg, .png, .gif).';
comment on column media_mix.videos is 'Of which videos (.mp4).';
comment on column media_mix.others is 'Of which anything else, or no media.';
comment on column media_mix.image_share is 'images / related_items, from 0 to 1.';
comment on column media_mix.video_share is 'videos / related_items, from 0 to 1.';
comment on column media_mix.other_share is 'others / related_items, from 0 to 1.';
