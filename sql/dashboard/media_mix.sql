-- Overview: image / video / other related items per month.
select month, images, videos, others, related_items, video_share from media_mix order by month
